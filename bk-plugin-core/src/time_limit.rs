//! [`TimeLimit`]: a duration as its author wrote it (`#[plugin(timeout = "7d")]`), and
//! [`human_duration`], how durations are written in `err` texts.

use std::time::Duration;

/// A time limit and the text it was written as, e.g. `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimit {
    duration: Duration,
    text: &'static str,
}

impl TimeLimit {
    /// `secs` seconds, written `text` (built by `#[plugin(timeout = ..)]`).
    #[doc(hidden)]
    pub const fn __new(secs: u64, text: &'static str) -> Self {
        TimeLimit {
            duration: Duration::from_secs(secs),
            text,
        }
    }

    /// The length.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// As the author wrote it.
    pub fn text(&self) -> &'static str {
        self.text
    }
}

/// `d` in the units `#[plugin(timeout = ..)]` takes: `7d`, `1h30m`, `45s`; below a second,
/// `250ms`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut out = String::new();
    let mut rest = secs;
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        let h = |s| human_duration(Duration::from_secs(s));
        assert_eq!(h(7 * 86_400), "7d");
        assert_eq!(h(5_400), "1h30m");
        assert_eq!(h(45), "45s");
        assert_eq!(h(86_401), "1d1s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
    }
}
