//! [`Cancellation`]: who ended a waiting invocation before it finished, and why.

use std::fmt;

/// A request to end a waiting invocation (POLL or CALLBACK) as FAIL before it finishes: from
/// a caller (`POST cancel/{trace_id}`) or an operator (`schedules fail`).
///
/// The engine runs [`Plugin::on_cancel`](crate::Plugin::on_cancel) with it, then stores the
/// invocation as FAIL with `err` naming who cancelled ([`Display`](fmt::Display)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cancellation {
    /// Who asked: the calling app and user (`bk_sops (user admin)`), or `operator`.
    pub by: String,
    /// The reason they gave, if any.
    pub reason: Option<String>,
}

impl Cancellation {
    /// A cancellation by `by`, with an optional reason (an empty one counts as none).
    pub fn new(by: impl Into<String>, reason: Option<String>) -> Self {
        Cancellation {
            by: by.into(),
            reason: reason.filter(|r| !r.trim().is_empty()),
        }
    }
}

/// `cancelled by <by>` and `: <reason>` when one was given.
impl fmt::Display for Cancellation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cancelled by {}", self.by)?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_who_and_why() {
        let c = Cancellation::new("bk_sops (user admin)", Some("task revoked".into()));
        assert_eq!(
            c.to_string(),
            "cancelled by bk_sops (user admin): task revoked"
        );
        let c = Cancellation::new("operator", Some("  ".into()));
        assert_eq!(c.reason, None);
        assert_eq!(c.to_string(), "cancelled by operator");
    }
}
