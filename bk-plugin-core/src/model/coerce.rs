//! pydantic v1's lax conversions for JSON values (`validators.py`), one function per target.
//!
//! The rules, and the few deliberate differences, are documented in `docs/coercion.md`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::py_repr::py_float_repr;

/// Result of reading an integer: the value, or why not.
pub(crate) enum IntError {
    /// Not an integer at all (`type_error.integer`).
    Invalid,
    /// An integer too large for any Rust integer; the sign says which side.
    Overflow { negative: bool },
}

/// Python refuses `int()` of strings longer than this (CVE-2020-10735 limit).
const MAX_INT_STR_DIGITS: usize = 4300;

/// `int_validator`: ints as is, bools as 0/1, floats truncated toward zero, strings via `int()`.
pub(crate) fn int(value: &Value) -> Result<i128, IntError> {
    match value {
        Value::Bool(b) => Ok(i128::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(i128::from(u))
            } else {
                let f = n.as_f64().ok_or(IntError::Invalid)?;
                float_to_int(f)
            }
        }
        Value::String(s) => int_from_str(s),
        _ => Err(IntError::Invalid),
    }
}

fn float_to_int(f: f64) -> Result<i128, IntError> {
    if !f.is_finite() {
        return Err(IntError::Invalid);
    }
    let t = f.trunc();
    // i128 spans ±1.7e38; anything beyond is out of range for every Rust integer anyway.
    if t.abs() >= 1.0e38 {
        return Err(IntError::Overflow { negative: t < 0.0 });
    }
    Ok(t as i128)
}

/// Python's `int(str)`: surrounding whitespace, one sign, ASCII digits with single `_` between
/// digits, leading zeros allowed.
fn int_from_str(s: &str) -> Result<i128, IntError> {
    if s.len() > MAX_INT_STR_DIGITS {
        return Err(IntError::Invalid);
    }
    let s = s.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(IntError::Invalid);
    }
    let bytes = digits.as_bytes();
    let mut acc: i128 = 0;
    let mut overflow = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                if !overflow {
                    match acc
                        .checked_mul(10)
                        .and_then(|a| a.checked_add(i128::from(b - b'0')))
                    {
                        Some(a) => acc = a,
                        None => overflow = true,
                    }
                }
            }
            b'_' => {
                let between_digits = i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit();
                if !between_digits {
                    return Err(IntError::Invalid);
                }
            }
            _ => return Err(IntError::Invalid),
        }
    }
    if overflow {
        return Err(IntError::Overflow { negative });
    }
    Ok(if negative { -acc } else { acc })
}

/// `float_validator`: numbers, bools as 1.0/0.0, strings via Python `float()` (`"nan"`,
/// `"inf"`, exponents, `_` between digits, surrounding whitespace).
pub(crate) fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => float_from_str(s),
        _ => None,
    }
}

fn float_from_str(s: &str) -> Option<f64> {
    let s = s.trim();
    let cleaned: Cow<'_, str> = if s.contains('_') {
        let bytes = s.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'_'
                && !(i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit())
            {
                return None;
            }
        }
        Cow::Owned(s.replace('_', ""))
    } else {
        Cow::Borrowed(s)
    };
    cleaned.parse::<f64>().ok()
}

/// `str_validator`: strings as is (no strip), ints via `str()`, floats via `repr()`, bools as
/// `"True"`/`"False"` (a bool is an int in Python).
pub(crate) fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        Value::Number(n) => Some(if n.is_f64() {
            py_float_repr(n.as_f64().unwrap_or(f64::NAN))
        } else {
            n.to_string()
        }),
        _ => None,
    }
}

/// `bool_validator`: bools; numbers equal to 0 or 1; strings (lower-cased, not stripped) in
/// {`1`,`on`,`t`,`true`,`y`,`yes`} / {`0`,`off`,`f`,`false`,`n`,`no`}.
pub(crate) fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => {
            let f = n.as_f64()?;
            // -0.0 == 0.0, like Python's `v in {0, 1}`.
            if f == 0.0 {
                Some(false)
            } else if f == 1.0 {
                Some(true)
            } else {
                None
            }
        }
        Value::String(s) => match s.to_lowercase().as_str() {
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `dict_validator`: objects as is; otherwise what Python's `dict(v)` accepts from JSON: a list
/// of 2-item pairs (2-element lists or 2-character strings), `[]` and `""`.
pub(crate) fn dict_like(value: &Value) -> Option<Cow<'_, Map<String, Value>>> {
    match value {
        Value::Object(map) => Some(Cow::Borrowed(map)),
        Value::String(s) if s.is_empty() => Some(Cow::Owned(Map::new())),
        Value::Array(items) => {
            let mut map = Map::with_capacity(items.len());
            for item in items {
                let (k, v) = match item {
                    Value::Array(pair) if pair.len() == 2 => (dict_key(&pair[0])?, pair[1].clone()),
                    Value::String(s) => {
                        let mut chars = s.chars();
                        match (chars.next(), chars.next(), chars.next()) {
                            (Some(a), Some(b), None) => {
                                (a.to_string(), Value::String(b.to_string()))
                            }
                            _ => return None,
                        }
                    }
                    _ => return None,
                };
                map.insert(k, v);
            }
            Some(Cow::Owned(map))
        }
        _ => None,
    }
}

/// A pair's key as the text Python would show for it; lists and dicts are unhashable.
fn dict_key(key: &Value) -> Option<String> {
    match key {
        Value::Array(_) | Value::Object(_) => None,
        Value::Null => Some("None".to_owned()),
        other => string(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int_ok(v: Value) -> i128 {
        int(&v).unwrap_or_else(|_| panic!("{v} should be an int"))
    }

    #[test]
    fn ints_like_pydantic() {
        assert_eq!(int_ok(json!(7)), 7);
        assert_eq!(int_ok(json!(true)), 1);
        assert_eq!(int_ok(json!(7.9)), 7);
        assert_eq!(int_ok(json!(-7.9)), -7);
        assert_eq!(int_ok(json!(1e-5)), 0);
        assert_eq!(int_ok(json!(1e16)), 10_000_000_000_000_000);
        for s in [" 7 ", "+7", "0007", "7"] {
            assert_eq!(int_ok(json!(s)), 7, "{s:?}");
        }
        assert_eq!(int_ok(json!("1_000")), 1000);
        assert_eq!(int_ok(json!("-12")), -12);
        for bad in [
            "7.0", "7.9", "1e3", "0x10", "", "abc", "true", "_1", "1_", "1__0", "+", " ",
        ] {
            assert!(
                matches!(int(&json!(bad)), Err(IntError::Invalid)),
                "{bad:?}"
            );
        }
        assert!(matches!(int(&json!([1])), Err(IntError::Invalid)));
        assert!(matches!(int(&json!({})), Err(IntError::Invalid)));
        assert!(matches!(int(&json!(null)), Err(IntError::Invalid)));
        assert!(matches!(
            int(&json!("99999999999999999999999999999999999999999")),
            Err(IntError::Overflow { negative: false })
        ));
        assert!(matches!(
            int(&json!(-1e300)),
            Err(IntError::Overflow { negative: true })
        ));
        assert!(matches!(
            int(&json!("1".repeat(4301))),
            Err(IntError::Invalid)
        ));
    }

    #[test]
    fn floats_like_pydantic() {
        assert_eq!(float(&json!(7)), Some(7.0));
        assert_eq!(float(&json!(true)), Some(1.0));
        assert_eq!(float(&json!(" 1.5 ")), Some(1.5));
        assert_eq!(float(&json!("1_000.5")), Some(1000.5));
        assert_eq!(float(&json!("1e3")), Some(1000.0));
        assert_eq!(float(&json!("-Infinity")), Some(f64::NEG_INFINITY));
        assert!(float(&json!("nan")).unwrap().is_nan());
        for bad in ["0x10", "", "abc", "true", "1__0", "_1"] {
            assert_eq!(float(&json!(bad)), None, "{bad:?}");
        }
        assert_eq!(float(&json!([])), None);
    }

    #[test]
    fn strings_like_pydantic() {
        assert_eq!(string(&json!(" a ")).as_deref(), Some(" a "));
        assert_eq!(string(&json!(123)).as_deref(), Some("123"));
        assert_eq!(string(&json!(7.0)).as_deref(), Some("7.0"));
        assert_eq!(string(&json!(1e16)).as_deref(), Some("1e+16"));
        assert_eq!(string(&json!(true)).as_deref(), Some("True"));
        assert_eq!(string(&json!([])), None);
        assert_eq!(string(&json!({})), None);
    }

    #[test]
    fn bools_like_pydantic() {
        for (v, b) in [
            (json!(0), false),
            (json!(1), true),
            (json!(1.0), true),
            (json!(-0.0), false),
            (json!("YES"), true),
            (json!("off"), false),
            (json!("t"), true),
        ] {
            assert_eq!(boolean(&v), Some(b), "{v}");
        }
        for bad in [
            json!(2),
            json!(0.5),
            json!("2"),
            json!(" true"),
            json!(""),
            json!([]),
        ] {
            assert_eq!(boolean(&bad), None, "{bad}");
        }
    }

    #[test]
    fn dicts_like_python_dict() {
        assert_eq!(
            dict_like(&json!([["a", 1]])).unwrap().into_owned(),
            json!({"a": 1}).as_object().unwrap().clone()
        );
        assert_eq!(
            Value::Object(dict_like(&json!(["ab", "cd"])).unwrap().into_owned()),
            json!({"a": "b", "c": "d"})
        );
        assert!(dict_like(&json!([])).unwrap().is_empty());
        assert!(dict_like(&json!("")).unwrap().is_empty());
        for bad in [
            json!("abc"),
            json!(1),
            json!(true),
            json!([1, "2"]),
            json!([["a"]]),
            json!([[["k"], 1]]),
        ] {
            assert!(dict_like(&bad).is_none(), "{bad}");
        }
    }
}
