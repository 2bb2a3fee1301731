//! The error a plugin's `execute` returns.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

/// Why `execute` failed; the invocation ends in [`State::Fail`](crate::State::Fail).
///
/// Two kinds, as in the Python framework:
/// - [`PluginError::new`] is a *controlled* failure (Python's `raise self.Error(msg)`), reported
///   as `plugin execute failed: <msg>`;
/// - any other error converted with `?` is *unexpected*, reported as
///   `plugin execute raise unexpected error: <msg>`; on a resumed run it also discards that
///   run's storage and output changes.
///
/// Like `anyhow::Error`, `PluginError` deliberately does **not** implement
/// [`std::error::Error`]: that is what lets `?` convert *any* error type into it.
///
/// ```
/// use bk_plugin_core::PluginError;
///
/// fn parse(text: &str) -> Result<i64, PluginError> {
///     let n: i64 = text.parse()?; // ParseIntError -> unexpected
///     if n < 0 {
///         return Err(PluginError::new("template_id must not be negative"));
///     }
///     Ok(n)
/// }
/// assert!(parse("x").unwrap_err().is_unexpected());
/// assert_eq!(parse("-1").unwrap_err().to_string(), "template_id must not be negative");
/// ```
pub struct PluginError {
    repr: Repr,
}

enum Repr {
    Failed(Cow<'static, str>),
    Unexpected(Box<dyn StdError + Send + Sync + 'static>),
}

impl PluginError {
    /// A controlled failure with a message for the caller (shown to SOPS users as `ex_data`).
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        PluginError {
            repr: Repr::Failed(message.into()),
        }
    }

    /// An unexpected failure caused by `error`; what `?` produces.
    pub fn unexpected(error: impl Into<Box<dyn StdError + Send + Sync + 'static>>) -> Self {
        PluginError {
            repr: Repr::Unexpected(error.into()),
        }
    }

    /// `true` if this error came from [`PluginError::unexpected`] or a `?` conversion.
    pub fn is_unexpected(&self) -> bool {
        matches!(self.repr, Repr::Unexpected(_))
    }

    /// The underlying error of an unexpected failure.
    pub fn source(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        match &self.repr {
            Repr::Failed(_) => None,
            Repr::Unexpected(e) => Some(e.as_ref()),
        }
    }
}

impl<E> From<E> for PluginError
where
    E: StdError + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        PluginError::unexpected(error)
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Failed(msg) => f.write_str(msg),
            Repr::Unexpected(e) => {
                write!(f, "{e}")?;
                let mut source = e.source();
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Failed(msg) => f.debug_tuple("PluginError::Failed").field(msg).finish(),
            Repr::Unexpected(e) => f.debug_tuple("PluginError::Unexpected").field(e).finish(),
        }
    }
}

impl From<PluginError> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(error: PluginError) -> Self {
        match error.repr {
            Repr::Failed(msg) => msg.into_owned().into(),
            Repr::Unexpected(e) => e,
        }
    }
}
