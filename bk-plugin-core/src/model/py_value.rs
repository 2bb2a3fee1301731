//! Python's `repr()` and `str()` of JSON values, as pydantic v1 prints them in error contexts
//! (`given=…`, `permitted=('a', 'b')`, `enum_values=[<Action.start: 'start'>]`).

use serde_json::Value;

use super::py_repr::py_float_repr;

/// `repr(s)` of a Python `str`: single quotes unless the text holds `'` and no `"`;
/// backslashes, the quote, `\t`, `\n`, `\r` and other non-printable characters escaped.
pub(crate) fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !printable(c) => {
                let n = u32::from(c);
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for the characters JSON input carries in practice: control
/// characters, the separators other than the space, and the common format characters are not.
fn printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{a0}'
                | '\u{ad}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{205f}'..='\u{2064}'
                | '\u{3000}'
                | '\u{feff}'
        ))
}

/// `repr(v)` of the Python value pydantic builds from JSON `v`.
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => py_str_repr(s),
        other => py_str(other),
    }
}

/// `str(v)` of the Python value pydantic builds from JSON `v`.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Number(n) if n.is_f64() => py_float_repr(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{py_repr, py_str, py_str_repr};
    use serde_json::json;

    #[test]
    fn strings_are_quoted_as_python_does() {
        assert_eq!(py_str_repr("a"), "'a'");
        assert_eq!(py_str_repr("it's"), "\"it's\"");
        assert_eq!(py_str_repr("'\""), "'\\'\"'");
        assert_eq!(py_str_repr("a\\b\n\t\u{1}"), "'a\\\\b\\n\\t\\x01'");
        assert_eq!(py_str_repr("名字\u{3000}"), "'名字\\u3000'");
    }

    #[test]
    fn values_print_as_python_objects() {
        assert_eq!(py_str(&json!("a ")), "a ");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(7.0)), "7.0");
        assert_eq!(py_str(&json!(["z", 1, null])), "['z', 1, None]");
        assert_eq!(py_str(&json!({"a": [false]})), "{'a': [False]}");
        assert_eq!(py_repr(&json!("x")), "'x'");
    }
}
