//! Procedural macros of [bk-plugin-kit](https://docs.rs/bk-plugin-kit).
//!
//! Depend on `bk-plugin-kit`, not on this crate: it re-exports every macro here and provides
//! the items the generated code refers to (always through `::bk_plugin_kit::__private`).
//!
//! The crate is a switchboard: each entry point parses its input (`ast`), validates it
//! (`valid`) and expands it (`expand`). User mistakes become spanned `syn::Error`s turned
//! into `compile_error!` next to a fallback expansion (`fallback`), so one mistake gives one
//! error, never a cascade, and never a panic.
#![deny(missing_docs)]

mod ast;
mod attr;
mod choice;
mod constraints;
mod ctxt;
mod docs;
mod expand;
mod fallback;
mod form;
mod title;
mod valid;
mod version;

use proc_macro::TokenStream;

/// Declares a plugin version. See `bk_plugin_kit::plugin` for the full reference.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::plugin::expand(args.into(), item.into()).into()
}

/// Derives `bk_plugin_kit::Choice` on an enum of unit variants. See the kit's documentation.
#[proc_macro_derive(Choice, attributes(choice))]
pub fn derive_choice(input: TokenStream) -> TokenStream {
    expand::choice::derive(input.into()).into()
}

/// Derives `bk_plugin_kit::Inputs`. See the kit's documentation.
#[proc_macro_derive(Inputs, attributes(field, model))]
pub fn derive_inputs(input: TokenStream) -> TokenStream {
    expand::model::derive(input.into(), ast::Role::Inputs).into()
}

/// Derives `bk_plugin_kit::ContextInputs`. See the kit's documentation.
#[proc_macro_derive(ContextInputs, attributes(field, model))]
pub fn derive_context_inputs(input: TokenStream) -> TokenStream {
    expand::model::derive(input.into(), ast::Role::ContextInputs).into()
}

/// Derives `bk_plugin_kit::Outputs`. See the kit's documentation.
#[proc_macro_derive(Outputs, attributes(field, model))]
pub fn derive_outputs(input: TokenStream) -> TokenStream {
    expand::model::derive(input.into(), ast::Role::Outputs).into()
}
