//! Error accumulator: every user mistake is reported, each on its own token.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// Collects `syn::Error`s while parsing and validating; [`Ctxt::finish`] folds them into one.
///
/// Dropping a `Ctxt` without calling `finish` is a bug in this crate (errors would be lost),
/// so it panics in that case, like serde_derive's `Ctxt`.
pub(crate) struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned at `at`.
    pub(crate) fn error_spanned_by(&self, at: impl ToTokens, msg: impl Display) {
        self.syn_error(syn::Error::new_spanned(at.into_token_stream(), msg));
    }

    /// Records an already built error.
    pub(crate) fn syn_error(&self, err: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after finish")
            .push(err);
    }

    /// Returns all recorded errors combined, or `Ok(())`.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("Ctxt finished twice");
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut first) => {
                for e in iter {
                    first.combine(e);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("bk-plugin-macros bug: Ctxt dropped without finish()");
        }
    }
}
