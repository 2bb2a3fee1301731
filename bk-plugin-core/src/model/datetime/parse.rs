//! pydantic v1's `datetime_parse.py` (`parse_datetime`, `parse_date`, `parse_time`,
//! `parse_duration`), line for line: the same regular expressions, unix seconds or
//! milliseconds as numbers or numeric strings, `Z` / `±HH[:MM]` offsets, and the same
//! failures, into Python-shaped values (naive or with a fixed offset).
//!
//! Deliberate difference (docs/coercion.md): `\d` is ASCII here; Python's also matches other
//! scripts' decimal digits.

use std::sync::LazyLock;

use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use regex::{Captures, Regex};
use serde_json::Value;

use super::timedelta::{self, DeltaArgs, PyException, US_PER_SECOND};
use crate::model::coerce;
use crate::model::py_value::py_str_repr;

/// `date_expr` of pydantic.
const DATE: &str = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})";
/// `time_expr` of pydantic (ending in Python's `$`: the end, or before a final newline).
const TIME: &str = r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2})(?::(?P<second>[0-9]{1,2})(?:\.(?P<microsecond>[0-9]{1,6})[0-9]{0,6})?)?(?P<tzinfo>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\n?\z";
/// `standard_duration_re`. Its lookahead `((?:(?P<hours>-?\d+):)(?=\d+:\d+))?` is written as
/// an alternative: hours only with unsigned minutes and seconds after them.
const STANDARD_DURATION: &str = r"\A(?:(?P<days>-?[0-9]+) (?:days?, )?)?(?:(?P<hours>-?[0-9]+):(?P<hminutes>[0-9]+):(?P<hseconds>[0-9]+)|(?:(?P<minutes>-?[0-9]+):)?(?P<seconds>-?[0-9]+))(?:\.(?P<microseconds>[0-9]{1,6})[0-9]{0,6})?\n?\z";
/// `iso8601_duration_re` (its `.` is any character, as in pydantic).
const ISO_DURATION: &str = r"\A(?P<sign>[-+]?)P(?:(?P<days>[0-9]+(?:.[0-9]+)?)D)?(?:T(?:(?P<hours>[0-9]+(?:.[0-9]+)?)H)?(?:(?P<minutes>[0-9]+(?:.[0-9]+)?)M)?(?:(?P<seconds>[0-9]+(?:.[0-9]+)?)S)?)?\n?\z";

fn compile(pattern: String) -> Regex {
    Regex::new(&pattern).expect("the pydantic patterns compile")
}

static DATE_RE: LazyLock<Regex> = LazyLock::new(|| compile(format!(r"\A{DATE}\n?\z")));
static TIME_RE: LazyLock<Regex> = LazyLock::new(|| compile(format!(r"\A{TIME}")));
static DATETIME_RE: LazyLock<Regex> = LazyLock::new(|| compile(format!(r"\A{DATE}[T ]{TIME}")));
static STANDARD_DURATION_RE: LazyLock<Regex> =
    LazyLock::new(|| compile(STANDARD_DURATION.to_owned()));
static ISO_DURATION_RE: LazyLock<Regex> = LazyLock::new(|| compile(ISO_DURATION.to_owned()));

/// `MS_WATERSHED`: above it (in absolute value) a number is milliseconds, not seconds.
const MS_WATERSHED: f64 = 2e10;
/// `MAX_NUMBER`: above it, `datetime.max`; below its negation, `datetime.min`.
const MAX_NUMBER: f64 = 3e20;

/// A Python `datetime`: naive (no offset) or aware with a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PyDateTime {
    /// The wall-clock date and time, to the microsecond.
    pub(crate) local: NaiveDateTime,
    /// The offset from UTC, `None` for a naive value.
    pub(crate) offset: Option<FixedOffset>,
}

/// A Python `time`, naive or with a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PyTime {
    /// The wall-clock time, to the microsecond.
    pub(crate) local: NaiveTime,
    /// The offset from UTC, `None` for a naive value.
    pub(crate) offset: Option<FixedOffset>,
}

/// Why a value is not a date, time or duration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParseError {
    /// The kind's own error (`invalid datetime format`, …).
    Format,
    /// Not a string or number: pydantic's `TypeError` (`invalid type; expected ...`).
    Type,
    /// Another Python exception on the way.
    Exception(PyException),
}

impl From<PyException> for ParseError {
    fn from(e: PyException) -> Self {
        ParseError::Exception(e)
    }
}

/// A Python number: `int` (JSON integers and booleans) or `float`.
#[derive(Debug, Clone, Copy)]
enum PyNumber {
    Int(i128),
    Float(f64),
}

impl PyNumber {
    fn as_f64(self) -> f64 {
        match self {
            PyNumber::Int(i) => i as f64,
            PyNumber::Float(f) => f,
        }
    }
}

/// `get_numeric`: numbers as they are, strings through Python's `float()`, other values a
/// `TypeError`; `None` for a string that is not a number.
fn numeric(value: &Value) -> Result<Option<PyNumber>, ParseError> {
    match value {
        Value::Bool(b) => Ok(Some(PyNumber::Int(i128::from(*b)))),
        Value::Number(n) => Ok(Some(if let Some(i) = n.as_i64() {
            PyNumber::Int(i128::from(i))
        } else if let Some(u) = n.as_u64() {
            PyNumber::Int(i128::from(u))
        } else {
            PyNumber::Float(n.as_f64().unwrap_or(f64::NAN))
        })),
        Value::String(s) => Ok(coerce::float_from_str(s).map(PyNumber::Float)),
        _ => Err(ParseError::Type),
    }
}

/// `timedelta(seconds=n)` in microseconds.
fn seconds_delta(n: PyNumber) -> Result<i128, PyException> {
    match n {
        PyNumber::Int(i) => timedelta::check_range(i * US_PER_SECOND),
        PyNumber::Float(seconds) => timedelta::timedelta(DeltaArgs {
            seconds,
            ..DeltaArgs::default()
        }),
    }
}

fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("the epoch is a date")
}

/// `datetime.max` (naive).
fn datetime_max() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .expect("datetime.max is a date")
}

/// `datetime.min` (naive).
fn datetime_min() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("datetime.min is a date")
}

/// `start + timedelta(microseconds=us)`, inside Python's years 1 to 9999.
fn add_micros(start: NaiveDateTime, us: i128) -> Result<NaiveDateTime, PyException> {
    let out_of_range = || PyException::Overflow("date value out of range".into());
    let us = i64::try_from(us).map_err(|_| out_of_range())?;
    let dt = start
        .checked_add_signed(Duration::microseconds(us))
        .ok_or_else(out_of_range)?;
    if dt < datetime_min() || dt > datetime_max() {
        return Err(out_of_range());
    }
    Ok(dt)
}

/// `from_unix_seconds`: seconds, or milliseconds (divided by 1000 until within the
/// watershed), from the epoch, in UTC; past `MAX_NUMBER` the naive extremes.
fn from_unix_seconds(n: PyNumber) -> Result<PyDateTime, PyException> {
    let v = n.as_f64();
    // NaN is neither (Python compares it false both ways).
    if v.abs() > MAX_NUMBER {
        let local = if v > 0.0 {
            datetime_max()
        } else {
            datetime_min()
        };
        return Ok(PyDateTime {
            local,
            offset: None,
        });
    }
    let mut seconds = n;
    while seconds.as_f64().abs() > MS_WATERSHED {
        seconds = PyNumber::Float(match seconds {
            // Python's int / 1000 is correctly rounded; so is parsing the exact decimal.
            PyNumber::Int(i) => format!("{i}e-3").parse().unwrap_or(f64::NAN),
            PyNumber::Float(f) => f / 1000.0,
        });
    }
    let local = add_micros(epoch(), seconds_delta(seconds)?)?;
    Ok(PyDateTime {
        local,
        offset: Some(utc()),
    })
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("UTC is an offset")
}

/// `_parse_timezone`: `Z`, `±HH`, `±HHMM`, `±HH:MM`; an offset of a day or more is `Format`.
fn timezone(text: Option<&str>) -> Result<Option<FixedOffset>, ParseError> {
    let Some(text) = text else {
        return Ok(None);
    };
    if text == "Z" {
        return Ok(Some(utc()));
    }
    let digits = |s: &str| s.parse::<i32>().map_err(|_| ParseError::Format);
    let minutes = if text.len() > 3 {
        digits(&text[text.len() - 2..])?
    } else {
        0
    };
    let mut offset = 60 * digits(&text[1..3])? + minutes;
    if text.starts_with('-') {
        offset = -offset;
    }
    if offset.abs() >= 24 * 60 {
        return Err(ParseError::Format);
    }
    Ok(FixedOffset::east_opt(offset * 60))
}

fn group<'t>(caps: &Captures<'t>, name: &str) -> Option<&'t str> {
    caps.name(name).map(|m| m.as_str())
}

/// A group of ASCII digits as a number (`int(v)`); a group that did not match is 0.
fn int_group(caps: &Captures<'_>, name: &str) -> u32 {
    group(caps, name).map_or(0, |s| s.parse().unwrap_or(u32::MAX))
}

/// The microsecond group, padded on the right to six digits.
fn micro_group(caps: &Captures<'_>) -> u32 {
    group(caps, "microsecond").map_or(0, |s| format!("{s:0<6}").parse().unwrap_or(u32::MAX))
}

fn date_from(caps: &Captures<'_>) -> Option<NaiveDate> {
    let year = int_group(caps, "year");
    if !(1..=9999).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        int_group(caps, "month"),
        int_group(caps, "day"),
    )
}

fn time_from(caps: &Captures<'_>) -> Result<PyTime, ParseError> {
    let offset = timezone(group(caps, "tzinfo"))?;
    let local = NaiveTime::from_hms_micro_opt(
        int_group(caps, "hour"),
        int_group(caps, "minute"),
        int_group(caps, "second"),
        micro_group(caps),
    )
    .ok_or(ParseError::Format)?;
    Ok(PyTime { local, offset })
}

/// `parse_datetime`.
pub(crate) fn parse_datetime(value: &Value) -> Result<PyDateTime, ParseError> {
    if let Some(n) = numeric(value)? {
        return Ok(from_unix_seconds(n)?);
    }
    let Value::String(s) = value else {
        return Err(ParseError::Type);
    };
    let caps = DATETIME_RE.captures(s).ok_or(ParseError::Format)?;
    let time = time_from(&caps)?;
    let date = date_from(&caps).ok_or(ParseError::Format)?;
    Ok(PyDateTime {
        local: date.and_time(time.local),
        offset: time.offset,
    })
}

/// `parse_date`.
pub(crate) fn parse_date(value: &Value) -> Result<NaiveDate, ParseError> {
    if let Some(n) = numeric(value)? {
        return Ok(from_unix_seconds(n)?.local.date());
    }
    let Value::String(s) = value else {
        return Err(ParseError::Type);
    };
    let caps = DATE_RE.captures(s).ok_or(ParseError::Format)?;
    date_from(&caps).ok_or(ParseError::Format)
}

/// `parse_time`: a number is seconds after midnight (below 86400).
pub(crate) fn parse_time(value: &Value) -> Result<PyTime, ParseError> {
    if let Some(n) = numeric(value)? {
        if n.as_f64() >= 86_400.0 {
            return Err(ParseError::Format);
        }
        let local = add_micros(datetime_min(), seconds_delta(n)?)?.time();
        return Ok(PyTime {
            local,
            offset: None,
        });
    }
    let Value::String(s) = value else {
        return Err(ParseError::Type);
    };
    let caps = TIME_RE.captures(s).ok_or(ParseError::Format)?;
    time_from(&caps)
}

/// `parse_duration`, in microseconds: numbers through `f'{value:f}'`, then the standard
/// (`[-]D [days, ][[-]H:]M:]S[.f]`) or ISO 8601 (`[±]PnDTnHnMnS`) form.
pub(crate) fn parse_duration(value: &Value) -> Result<i128, ParseError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) => match numeric(value)? {
            Some(n) => format!("{:.6}", n.as_f64()),
            None => return Err(ParseError::Type),
        },
        _ => return Err(ParseError::Type),
    };
    let (caps, iso) = match STANDARD_DURATION_RE.captures(&text) {
        Some(c) => (c, false),
        None => (
            ISO_DURATION_RE.captures(&text).ok_or(ParseError::Format)?,
            true,
        ),
    };
    let negative = iso && group(&caps, "sign") == Some("-");
    let seconds = group(&caps, "hseconds").or_else(|| group(&caps, "seconds"));
    let microseconds = group(&caps, "microseconds").map(|m| {
        let padded = format!("{m:0<6}");
        if seconds.is_some_and(|s| s.starts_with('-')) {
            format!("-{padded}")
        } else {
            padded
        }
    });
    let float = |text: Option<&str>| -> Result<f64, PyException> {
        let Some(text) = text else {
            return Ok(0.0);
        };
        coerce::float_from_str(text).ok_or_else(|| {
            PyException::Value(format!(
                "could not convert string to float: {}",
                py_str_repr(text)
            ))
        })
    };
    let args = DeltaArgs {
        days: float(group(&caps, "days"))?,
        hours: float(group(&caps, "hours"))?,
        minutes: float(group(&caps, "hminutes").or_else(|| group(&caps, "minutes")))?,
        seconds: float(seconds)?,
        microseconds: float(microseconds.as_deref())?,
    };
    let us = timedelta::timedelta(args)?;
    Ok(if negative {
        timedelta::check_range(-us)?
    } else {
        us
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dt(v: Value) -> String {
        match parse_datetime(&v) {
            Ok(d) => format!("{} {:?}", d.local, d.offset.map(|o| o.local_minus_utc())),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn datetimes_as_pydantic_parses_them() {
        assert_eq!(dt(json!("2020-01-02T03:04:05")), "2020-01-02 03:04:05 None");
        assert_eq!(
            dt(json!("2020-1-2 3:4:5.1234567Z")),
            "2020-01-02 03:04:05.123456 Some(0)"
        );
        assert_eq!(
            dt(json!("2020-01-02T03:04+05:30")),
            "2020-01-02 03:04:00 Some(19800)"
        );
        assert_eq!(
            dt(json!("2020-01-02T03:04:05\n")),
            "2020-01-02 03:04:05 None"
        );
        assert_eq!(dt(json!("2020-02-30T00:00")), "Format");
        assert_eq!(dt(json!("2020-01-02T03:04+24:00")), "Format");
        assert_eq!(dt(json!(1_577_836_800)), "2020-01-01 00:00:00 Some(0)");
        assert_eq!(
            dt(json!(1_577_836_800_000_i64)),
            "2020-01-01 00:00:00 Some(0)"
        );
        assert_eq!(dt(json!("1577836800.5")), "2020-01-01 00:00:00.500 Some(0)");
        assert_eq!(dt(json!(1e21)), "9999-12-31 23:59:59.999999 None");
        assert_eq!(dt(json!([])), "Type");
    }

    #[test]
    fn durations_as_pydantic_parses_them() {
        let d = |v: Value| parse_duration(&v);
        assert_eq!(d(json!("1 day, 1:02:03.5")), Ok(90_123_500_000));
        assert_eq!(d(json!("-1:30")), Ok(-30_000_000));
        assert_eq!(d(json!("P1DT2H")), Ok(93_600_000_000));
        assert_eq!(d(json!("-PT1.5S")), Ok(-1_500_000));
        assert_eq!(d(json!(1.5)), Ok(1_500_000));
        assert_eq!(d(json!("x")), Err(ParseError::Format));
        assert_eq!(
            d(json!("P1x5D")),
            Err(ParseError::Exception(PyException::Value(
                "could not convert string to float: '1x5'".into()
            )))
        );
    }
}
