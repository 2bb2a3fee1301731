//! pydantic v1's lax conversions for JSON values (`validators.py`), one function per target.
//!
//! The rules, and the few deliberate differences, are documented in `docs/coercion.md`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde_json::{Map, Number, Value};

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

/// Python's `float(str)`.
pub(crate) fn float_from_str(s: &str) -> Option<f64> {
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

/// A key of a dict that Python's `dict()` built from a list of pairs: a `str`, `None`, or a
/// number (an int, float or bool; `1`, `1.0` and `True` are one key, as in Python).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyKey {
    /// A `str`.
    Str(String),
    /// `None`.
    None,
    /// An int, float or bool: the text `str()` gives for it.
    Number(String),
}

impl PyKey {
    /// The key as Python's `str()` prints it (`True`, `None`, `1.5`).
    pub(crate) fn text(&self) -> &str {
        match self {
            PyKey::Str(s) | PyKey::Number(s) => s,
            PyKey::None => "None",
        }
    }
}

/// What Python's hash and `==` see in a key: numbers by value (`1 == 1.0 == True`).
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyIdentity {
    Str(String),
    None,
    Int(i128),
    Float(u64),
}

/// What `dict(v)` gives for a JSON value: an object as is, or the entries of a pairs list.
#[derive(Debug)]
pub(crate) enum DictLike<'a> {
    /// A JSON object: every key a `str`.
    Object(&'a Map<String, Value>),
    /// From pairs (or `""`): keys in first-seen order, each with its last value.
    Pairs(Vec<(PyKey, Cow<'a, Value>)>),
}

impl<'a> DictLike<'a> {
    /// A Python `dict` field's value: keys written as `str()` prints them.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        match self {
            DictLike::Object(map) => map.clone(),
            DictLike::Pairs(entries) => entries
                .into_iter()
                .map(|(k, v)| (k.text().to_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The entries for `Dict[str, T]`: the key as `str`, or `None` for a Python `None` key
    /// (which `str` refuses).
    pub(crate) fn entries(&self) -> Vec<(Option<&str>, &Value)> {
        match self {
            DictLike::Object(map) => map.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
            DictLike::Pairs(entries) => entries
                .iter()
                .map(|(k, v)| ((*k != PyKey::None).then(|| k.text()), v.as_ref()))
                .collect(),
        }
    }

    /// The keyword arguments of a nested model's `cls(**d)`: `None` if a key is not a `str`
    /// (Python: `keywords must be strings`).
    pub(crate) fn keywords(self) -> Option<Cow<'a, Map<String, Value>>> {
        match self {
            DictLike::Object(map) => Some(Cow::Borrowed(map)),
            DictLike::Pairs(entries) => entries
                .into_iter()
                .map(|(k, v)| match k {
                    PyKey::Str(k) => Some((k, v.into_owned())),
                    _ => None,
                })
                .collect::<Option<Map<_, _>>>()
                .map(Cow::Owned),
        }
    }
}

/// `dict_validator`: objects as is; otherwise what Python's `dict(v)` accepts from JSON: `""`,
/// and a list whose every item is a 2-item iterable (see [`pair`]).
pub(crate) fn dict_like(value: &Value) -> Option<DictLike<'_>> {
    match value {
        Value::Object(map) => Some(DictLike::Object(map)),
        Value::String(s) if s.is_empty() => Some(DictLike::Pairs(Vec::new())),
        Value::Array(items) => pairs(items).map(DictLike::Pairs),
        _ => None,
    }
}

/// `dict(items)`: a repeated key (by Python equality) keeps its first place and takes the
/// last value.
fn pairs(items: &[Value]) -> Option<Vec<(PyKey, Cow<'_, Value>)>> {
    let mut entries: Vec<(PyKey, Cow<'_, Value>)> = Vec::with_capacity(items.len());
    let mut seen: HashMap<KeyIdentity, usize> = HashMap::with_capacity(items.len());
    for item in items {
        let (key, value, identity) = pair(item)?;
        match seen.entry(identity) {
            Entry::Occupied(at) => entries[*at.get()].1 = value,
            Entry::Vacant(slot) => {
                slot.insert(entries.len());
                entries.push((key, value));
            }
        }
    }
    Some(entries)
}

/// One item of a pairs list, as Python iterates it: a 2-element array (its key must be
/// hashable: no array or object), a 2-character string (`"ab"` → `a`, `b`), or an object
/// with exactly two keys (iterating a dict gives its keys: `{"a": 1, "b": 2}` → `a`, `b`).
fn pair(item: &Value) -> Option<(PyKey, Cow<'_, Value>, KeyIdentity)> {
    match item {
        Value::Array(pair) if pair.len() == 2 => {
            let (key, identity) = py_key(&pair[0])?;
            Some((key, Cow::Borrowed(&pair[1]), identity))
        }
        Value::String(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next(), chars.next()) {
                (Some(a), Some(b), None) => Some(str_pair(a.to_string(), b.to_string())),
                _ => None,
            }
        }
        Value::Object(map) if map.len() == 2 => {
            let mut keys = map.keys();
            let (a, b) = (keys.next()?, keys.next()?);
            Some(str_pair(a.clone(), b.clone()))
        }
        _ => None,
    }
}

fn str_pair<'a>(key: String, value: String) -> (PyKey, Cow<'a, Value>, KeyIdentity) {
    let identity = KeyIdentity::Str(key.clone());
    (PyKey::Str(key), Cow::Owned(Value::String(value)), identity)
}

/// A pair's key as Python holds it; arrays and objects (lists, dicts) are unhashable.
fn py_key(key: &Value) -> Option<(PyKey, KeyIdentity)> {
    match key {
        Value::Array(_) | Value::Object(_) => None,
        Value::Null => Some((PyKey::None, KeyIdentity::None)),
        Value::String(s) => Some((PyKey::Str(s.clone()), KeyIdentity::Str(s.clone()))),
        Value::Bool(b) => Some((
            PyKey::Number(string(key)?),
            KeyIdentity::Int(i128::from(*b)),
        )),
        Value::Number(n) => Some((PyKey::Number(string(key)?), number_identity(n))),
    }
}

/// Python's `==` between ints and floats: an integral float is the int it equals.
fn number_identity(n: &Number) -> KeyIdentity {
    if let Some(i) = n.as_i64() {
        return KeyIdentity::Int(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return KeyIdentity::Int(i128::from(u));
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 1.0e38 {
        KeyIdentity::Int(f as i128)
    } else {
        KeyIdentity::Float(f.to_bits())
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

    fn as_map(v: Value) -> Option<Value> {
        dict_like(&v).map(|d| Value::Object(d.into_map()))
    }

    #[test]
    fn dicts_like_python_dict() {
        assert_eq!(as_map(json!([["a", 1]])), Some(json!({"a": 1})));
        assert_eq!(
            as_map(json!(["ab", "cd"])),
            Some(json!({"a": "b", "c": "d"}))
        );
        // Iterating a dict gives its keys: a two-key object is a pair of its keys.
        assert_eq!(
            as_map(json!([{"a": 1, "b": 2}, ["c", 3]])),
            Some(json!({"a": "b", "c": 3}))
        );
        assert_eq!(as_map(json!([])), Some(json!({})));
        assert_eq!(as_map(json!("")), Some(json!({})));
        for bad in [
            json!("abc"),
            json!("ab"),
            json!(1),
            json!(true),
            json!([1, "2"]),
            json!([["a"]]),
            json!([["a", 1, 2]]),
            json!([[["k"], 1]]),
            json!([[{"k": 1}, 1]]),
            json!([{"a": 1}]),
            json!([{}]),
            json!([{"a": 1, "b": 2, "c": 3}]),
            json!([null]),
        ] {
            assert!(dict_like(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pair_keys_are_python_keys() {
        // 1, 1.0 and True are one key: the first spelling stays, the last value wins.
        assert_eq!(
            as_map(json!([[1, "a"], [true, "b"], [1.0, "c"], ["1", "d"]])),
            Some(json!({"1": "d"}))
        );
        assert_eq!(
            as_map(json!([[0, 1], [false, 2], [-0.0, 3], [null, 4], [1.5, 5]])),
            Some(json!({"0": 3, "None": 4, "1.5": 5}))
        );
        assert_eq!(
            as_map(json!([[true, 1], [1e16, 2]])),
            Some(json!({"True": 1, "1e+16": 2}))
        );
        let entries = |v: Value| -> Vec<Option<String>> {
            let dict = dict_like(&v).unwrap();
            dict.entries()
                .into_iter()
                .map(|(k, _)| k.map(str::to_owned))
                .collect()
        };
        assert_eq!(
            entries(json!([[null, 1], ["a", 2], [2, 3]])),
            [None, Some("a".to_owned()), Some("2".to_owned())]
        );
    }

    #[test]
    fn model_keywords_must_be_strings() {
        let keywords = |v: Value| dict_like(&v).unwrap().keywords().map(Cow::into_owned);
        assert_eq!(
            keywords(json!([["host", "h"], {"port": 1, "p": 2}])),
            Some(
                json!({"host": "h", "port": "p"})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        );
        assert_eq!(keywords(json!({"a": 1})).unwrap().len(), 1);
        for bad in [
            json!([[1, "x"]]),
            json!([[null, "x"]]),
            json!([["a", 1], [true, 2]]),
        ] {
            assert_eq!(keywords(bad.clone()), None, "{bad}");
        }
    }
}
