//! Times as the Python framework prints them: `%Y-%m-%d %H:%M:%S` in Asia/Shanghai (UTC+8).

use bk_plugin_engine::Timestamp;
use chrono::{DateTime, FixedOffset};

/// `2024-01-01 08:00:00` for the Unix epoch + 0 ms.
pub(crate) fn shanghai(t: Timestamp) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    DateTime::from_timestamp_millis(t.as_millis())
        .map(|d| {
            d.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_plus_8() {
        // The peer reported a row finished at 04:11:31 UTC as 12:11:31.
        let t = Timestamp::from_millis(1_795_493_491_000); // 2026-11-24T04:11:31Z
        assert_eq!(shanghai(t), "2026-11-24 12:11:31");
    }
}
