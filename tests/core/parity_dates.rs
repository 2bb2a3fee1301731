//! The Rust twins of gen.py's dates and times (`chrono` feature): the `dates` schema, and the
//! `datetime` / `date` / `time` / `timedelta` grid checked for every chrono type that stands
//! for the pydantic one (docs/coercion.md, "Dates and times").

use std::collections::BTreeMap;

use bk_plugin_kit::FieldType;
use bk_plugin_kit::chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc,
};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};

/// The twin of `Dates` in gen.py.
#[derive(Inputs, Debug)]
pub struct Dates {
    pub at: NaiveDateTime,
    #[field(default = NaiveDate::from_ymd_opt(2020, 1, 2).unwrap())]
    pub day: NaiveDate,
    #[field(default = NaiveTime::from_hms_opt(3, 4, 5).unwrap(), description = "when, daily")]
    pub moment: NaiveTime,
    #[field(default = TimeDelta::minutes(5))]
    pub wait: TimeDelta,
    #[field(default = "2020-01-02T03:04:05Z".parse::<DateTime<Utc>>().unwrap())]
    pub since: DateTime<Utc>,
    pub maybe: Option<DateTime<FixedOffset>>,
    #[field(default)]
    pub days: Vec<NaiveDate>,
    #[field(default)]
    pub waits: BTreeMap<String, TimeDelta>,
}

/// The grid's type names handled here.
pub const TYPES: [&str; 6] = [
    "datetime",
    "date",
    "time",
    "timedelta",
    "optional_datetime",
    "list_date",
];

/// A model `{v: T}` and the function that validates `{"v": value}` with it.
macro_rules! checker {
    ($($check:ident => $model:ident: $ty:ty;)*) => {$(
        #[derive(Inputs)]
        pub struct $model {
            pub v: $ty,
        }

        fn $check(input: &Value) -> Result<$ty, String> {
            <$model as Inputs>::from_json(input)
                .map(|m| m.v)
                .map_err(|e| e.to_string())
        }
    )*};
}

checker! {
    naive_datetime => GNaiveDateTime: NaiveDateTime;
    fixed_datetime => GFixedDateTime: DateTime<FixedOffset>;
    utc_datetime => GUtcDateTime: DateTime<Utc>;
    optional_datetime => GOptionalDateTime: Option<DateTime<FixedOffset>>;
    date => GDate: NaiveDate;
    list_date => GListDate: Vec<NaiveDate>;
    time => GTime: NaiveTime;
    timedelta => GTimeDelta: TimeDelta;
}

/// The offset at the end of an `isoformat()`, if any.
fn split_offset(iso: &str) -> (&str, Option<&str>) {
    let cut = iso.len().saturating_sub(6);
    match iso.get(cut..) {
        Some(tail) if tail.starts_with(['+', '-']) && tail.as_bytes()[3] == b':' => {
            (&iso[..cut], Some(tail))
        }
        _ => (iso, None),
    }
}

/// How each chrono type answers one case of pydantic's type `ty`: the mismatches.
pub fn mismatches(ty: &str, value: &Value, expected: &Value) -> Vec<String> {
    let input = json!({ "v": value });
    let mut out = Vec::new();
    let mut compare = |rust: &str, actual: Result<Value, String>, want: Result<Value, String>| {
        let same = match (&actual, &want) {
            (Ok(a), Ok(w)) => a == w,
            (Err(a), Err(w)) => w.is_empty() || a == w,
            _ => false,
        };
        if !same {
            out.push(format!(
                "{ty} as {rust} <- {value}: rust {actual:?}, pydantic {expected}"
            ));
        }
    };
    // What pydantic gave: a value, its error text, or an exception it let out (then any
    // error of the kit's is right: docs/coercion.md).
    let want: Result<Value, String> = match (expected.get("ok"), expected.get("err")) {
        (Some(ok), _) => Ok(ok.clone()),
        (_, Some(err)) => Err(err.as_str().unwrap_or_default().to_owned()),
        _ => Err(String::new()),
    };
    match ty {
        "datetime" => {
            let naive = want
                .clone()
                .map(|w| json!(split_offset(w.as_str().unwrap()).0));
            compare(
                "NaiveDateTime",
                naive_datetime(&input).map(|v| v.to_json()),
                naive,
            );
            let fixed = want.clone().map(|w| {
                let w = w.as_str().unwrap();
                match split_offset(w) {
                    (_, Some(_)) => json!(w),
                    (local, None) => json!(format!("{local}+00:00")),
                }
            });
            compare(
                "DateTime<FixedOffset>",
                fixed_datetime(&input).map(|v| v.to_json()),
                fixed.clone(),
            );
            // The same instant in UTC, read back by chrono from pydantic's text.
            let utc = fixed.map(|f| {
                let instant =
                    DateTime::parse_from_str(f.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f%:z")
                        .expect("pydantic's isoformat");
                json!(instant.timestamp_micros())
            });
            compare(
                "DateTime<Utc>",
                utc_datetime(&input).map(|v| json!(v.timestamp_micros())),
                utc,
            );
        }
        "optional_datetime" => {
            let fixed = want.map(|w| match w.as_str().map(split_offset) {
                None => Value::Null,
                Some((_, Some(_))) => w,
                Some((local, None)) => json!(format!("{local}+00:00")),
            });
            compare(
                "Option<DateTime<FixedOffset>>",
                optional_datetime(&input).map(|v| v.to_json()),
                fixed,
            );
        }
        "date" => compare("NaiveDate", date(&input).map(|v| v.to_json()), want),
        "list_date" => compare(
            "Vec<NaiveDate>",
            list_date(&input).map(|v| v.to_json()),
            want,
        ),
        "time" => {
            let naive = want.map(|w| json!(split_offset(w.as_str().unwrap()).0));
            compare("NaiveTime", time(&input).map(|v| v.to_json()), naive);
        }
        "timedelta" => compare("TimeDelta", timedelta(&input).map(|v| v.to_json()), want),
        other => panic!("{other} is not a date type"),
    }
    out
}

#[test]
fn non_ascii_digits_are_refused_where_pydantic_reads_them() {
    // Deliberate difference 2 (docs/coercion.md): pydantic gives 12:00:00.
    assert_eq!(
        time(&json!({"v": "１２:00"})).unwrap_err(),
        "1 validation error for Inputs\nv\n  invalid time format (type=value_error.time)"
    );
}

#[test]
fn values_written_by_a_plugin_are_pydantic_s_json() {
    let at = "2020-01-02T03:04:05.123456789+08:00"
        .parse::<DateTime<FixedOffset>>()
        .unwrap();
    // Nanoseconds truncated to Python's microseconds.
    assert_eq!(at.to_json(), json!("2020-01-02T03:04:05.123456+08:00"));
    assert_eq!(
        at.with_timezone(&Utc).to_json(),
        json!("2020-01-01T19:04:05.123456+00:00")
    );
    assert_eq!(
        at.naive_local().to_json(),
        json!("2020-01-02T03:04:05.123456")
    );
    assert_eq!(
        NaiveDate::from_ymd_opt(33, 1, 2).unwrap().to_json(),
        json!("0033-01-02")
    );
    assert_eq!(TimeDelta::milliseconds(-1500).to_json(), json!(-1.5));
    assert_eq!(
        TimeDelta::days(999_999_999).to_json(),
        json!(86_399_999_913_600.0)
    );
}

#[test]
fn a_dates_model_reads_and_writes_every_field() {
    let m = <Dates as Inputs>::from_json(&json!({
        "at": "2020-01-02 03:04",
        "maybe": 1_577_836_800_000_i64,
        "days": ["2020-01-02", 0],
        "waits": {"short": "PT1M", "long": "1 day, 0:00:00"},
    }))
    .unwrap();
    assert_eq!(m.at.to_json(), json!("2020-01-02T03:04:00"));
    assert_eq!(m.maybe.to_json(), json!("2020-01-01T00:00:00+00:00"));
    assert_eq!(m.days.to_json(), json!(["2020-01-02", "1970-01-01"]));
    assert_eq!(m.waits.to_json(), json!({"long": 86400.0, "short": 60.0}));
    assert_eq!(m.wait, TimeDelta::minutes(5));
    let err = <Dates as Inputs>::from_json(
        &json!({"at": "x", "days": ["2020-02-30"], "waits": {"a": []}}),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "3 validation errors for Inputs\nat\n  invalid datetime format (type=value_error.datetime)\ndays -> 0\n  invalid date format (type=value_error.date)\nwaits -> a\n  invalid type; expected timedelta, string, bytes, int or float (type=type_error)"
    );
}
