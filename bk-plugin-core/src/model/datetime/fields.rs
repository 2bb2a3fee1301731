//! [`FieldType`] for chrono's types, as pydantic's `datetime`, `date`, `time` and `timedelta`:
//! the schema `format`, the parse of [`parse`](super::parse), the error texts, and the JSON
//! pydantic's encoder writes (`isoformat()`, `total_seconds()`).

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, Timelike, Utc,
};
use serde_json::{Map, Number, Value, json};

use super::parse::{self, ParseError, PyDateTime, PyTime};
use super::timedelta::{PyException, US_PER_SECOND, total_seconds};
use crate::model::FieldType;
use crate::model::schema::Definitions;
use crate::model::validate::{ErrorKind, Validator};

/// The pydantic error kind of a failed parse of a `kind` (`datetime`, `date`, …; its Python
/// type `class`).
fn report(validator: &mut Validator, kind: &'static str, class: &'static str, e: ParseError) {
    validator.error(match e {
        // An OverflowError, which pydantic lets out of validation (a server error in the Python
        // framework), is reported as the kind's own error (docs/coercion.md).
        ParseError::Format | ParseError::Exception(PyException::Overflow(_)) => ErrorKind::Custom {
            message: format!("invalid {kind} format").into(),
            error_type: format!("value_error.{kind}").into(),
        },
        ParseError::Type => ErrorKind::Custom {
            message: format!("invalid type; expected {class}, string, bytes, int or float").into(),
            error_type: "type_error".into(),
        },
        ParseError::Exception(PyException::Value(message)) => ErrorKind::Custom {
            message: message.into(),
            error_type: "value_error".into(),
        },
    });
}

fn string_schema(format: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!("string"));
    m.insert("format".into(), json!(format));
    m
}

/// `HH:MM:SS[.ffffff]` of `time.isoformat()` (nanoseconds truncated to microseconds).
fn time_iso(t: NaiveTime) -> String {
    let us = t.nanosecond() / 1000 % 1_000_000;
    let base = format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    if us == 0 {
        base
    } else {
        format!("{base}.{us:06}")
    }
}

fn date_iso(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `+HH:MM` (and `:SS` when the offset has seconds), as Python writes `utcoffset()`.
fn offset_iso(o: FixedOffset) -> String {
    let secs = o.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    let hm = format!("{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60);
    if secs.is_multiple_of(60) {
        hm
    } else {
        format!("{hm}:{:02}", secs % 60)
    }
}

fn datetime_iso(local: NaiveDateTime, offset: Option<FixedOffset>) -> String {
    let mut s = format!("{}T{}", date_iso(local.date()), time_iso(local.time()));
    if let Some(o) = offset {
        s.push_str(&offset_iso(o));
    }
    s
}

fn datetime_field(value: &Value, validator: &mut Validator) -> Option<PyDateTime> {
    parse::parse_datetime(value)
        .map_err(|e| report(validator, "datetime", "datetime", e))
        .ok()
}

/// pydantic `datetime`. An offset in the value is dropped: the wall-clock time as written
/// (`dt.replace(tzinfo=None)`); unix seconds are UTC.
impl FieldType for NaiveDateTime {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        string_schema("date-time")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        datetime_field(value, validator).map(|d| d.local)
    }
    fn to_json(&self) -> Value {
        json!(datetime_iso(*self, None))
    }
}

/// pydantic `datetime` with its offset. A value without one (naive in Python) is taken as UTC.
impl FieldType for DateTime<FixedOffset> {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        string_schema("date-time")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        let d = datetime_field(value, validator)?;
        let offset = d.offset.unwrap_or(Utc.fix());
        d.local.and_local_timezone(offset).single()
    }
    fn to_json(&self) -> Value {
        json!(datetime_iso(self.naive_local(), Some(*self.offset())))
    }
}

/// pydantic `datetime`, converted to UTC (`astimezone(timezone.utc)`). A value without an
/// offset is taken as UTC.
impl FieldType for DateTime<Utc> {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        string_schema("date-time")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        DateTime::<FixedOffset>::coerce(value, validator).map(|d| d.with_timezone(&Utc))
    }
    fn to_json(&self) -> Value {
        json!(datetime_iso(self.naive_utc(), Some(Utc.fix())))
    }
}

/// pydantic `date`: `YYYY-MM-DD`, or unix seconds / milliseconds (the UTC date).
impl FieldType for NaiveDate {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        string_schema("date")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        parse::parse_date(value)
            .map_err(|e| report(validator, "date", "date", e))
            .ok()
    }
    fn to_json(&self) -> Value {
        json!(date_iso(*self))
    }
}

/// pydantic `time`: `HH:MM[:SS[.ffffff]][offset]` (an offset is dropped), or seconds after
/// midnight.
impl FieldType for NaiveTime {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        string_schema("time")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        parse::parse_time(value)
            .map(|PyTime { local, .. }| local)
            .map_err(|e| report(validator, "time", "time", e))
            .ok()
    }
    fn to_json(&self) -> Value {
        json!(time_iso(*self))
    }
}

/// pydantic `timedelta` (`chrono::Duration` is this type): seconds as a number, `[-]D days,
/// HH:MM:SS[.f]`, or ISO 8601 `PnDTnHnMnS`; written as `total_seconds()`.
impl FieldType for TimeDelta {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!("number"));
        m.insert("format".into(), json!("time-delta"));
        m
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        let us = parse::parse_duration(value)
            .map_err(|e| report(validator, "duration", "timedelta", e))
            .ok()?;
        // Every Python timedelta fits (chrono's range is about 292 million years).
        let seconds = i64::try_from(us.div_euclid(US_PER_SECOND)).ok()?;
        let nanos = u32::try_from(us.rem_euclid(US_PER_SECOND) * 1000).ok()?;
        TimeDelta::new(seconds, nanos)
    }
    fn to_json(&self) -> Value {
        // Whole microseconds (a Python timedelta has no finer unit).
        let us =
            i128::from(self.num_seconds()) * US_PER_SECOND + i128::from(self.subsec_nanos() / 1000);
        Number::from_f64(total_seconds(us)).map_or(Value::Null, Value::Number)
    }
}
