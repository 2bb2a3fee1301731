//! Dates and times (the `chrono` feature): chrono's types as pydantic v1's `datetime`, `date`,
//! `time` and `timedelta` fields, with pydantic's parsing, errors, schema and JSON.
//!
//! | Rust | pydantic | schema |
//! |---|---|---|
//! | `chrono::NaiveDateTime` | `datetime` (an offset dropped) | `string`, `date-time` |
//! | `chrono::DateTime<FixedOffset>` | `datetime` (no offset: UTC) | `string`, `date-time` |
//! | `chrono::DateTime<Utc>` | `datetime`, converted to UTC | `string`, `date-time` |
//! | `chrono::NaiveDate` | `date` | `string`, `date` |
//! | `chrono::NaiveTime` | `time` (an offset dropped) | `string`, `time` |
//! | `chrono::TimeDelta` (`chrono::Duration`) | `timedelta` | `number`, `time-delta` |

mod fields;
mod parse;
mod timedelta;
