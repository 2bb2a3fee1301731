//! A schemars (draft 7) schema rewritten in pydantic v1's dialect, the one SOPS reads in
//! `detail`. What it keeps, drops and rewrites is listed in docs/macros.md ("Serde and schemars
//! types"):
//!
//! - dropped: `$schema`, `$id`, `$comment`, and the numeric `format`s schemars writes for Rust
//!   integer and float widths (`uint16`, `int64`, `double`, …), which pydantic never writes;
//! - `null` removed: `"type": ["string", "null"]` is `"type": "string"`, and an
//!   `anyOf` / `oneOf` with a `null` branch is its other branch (pydantic writes an `Optional`
//!   field as its inner type);
//! - `const: v` is `enum: [v]`, and a `oneOf` of `const`s (schemars' unit enum with doc comments)
//!   is one `enum` (pydantic's `Literal` / `Enum` shape), with the members' common `type`;
//! - everything else is kept as schemars wrote it (`title`, `description`, `default`,
//!   `minimum`, `maxLength`, `pattern`, `additionalProperties`, `allOf` around a `$ref`, …).

use serde_json::{Map, Value};

/// The `format`s schemars writes for numeric widths.
const WIDTH_FORMATS: [&str; 12] = [
    "int8", "int16", "int32", "int64", "int128", "uint8", "uint16", "uint32", "uint64", "uint128",
    "uint", "double",
];

/// Every `$ref` under `value` starting with `from` made to start with `to`.
pub(crate) fn move_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(r) if k == "$ref" => {
                        if let Some(rest) = r.strip_prefix(from) {
                            *r = format!("{to}{rest}");
                        }
                    }
                    other => move_refs(other, from, to),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| move_refs(v, from, to)),
        _ => {}
    }
}

/// `schema` in pydantic's dialect.
pub(crate) fn to_pydantic(schema: Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(object(map)),
        Value::Array(items) => Value::Array(items.into_iter().map(to_pydantic).collect()),
        other => other,
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type") == Some(&Value::String("null".into())) || v.get("const") == Some(&Value::Null)
}

fn object(mut map: Map<String, Value>) -> Map<String, Value> {
    for key in ["$schema", "$id", "$comment"] {
        map.remove(key);
    }
    if let Some(Value::String(f)) = map.get("format")
        && WIDTH_FORMATS.contains(&f.as_str())
    {
        map.remove("format");
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get_mut(key) else {
            continue;
        };
        branches.retain(|b| !is_null_schema(b));
        if branches.len() == 1 {
            // The other branch, under the parent's own keys (title, description, default).
            let Some(Value::Object(only)) = branches.pop() else {
                continue;
            };
            map.remove(key);
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        } else if let Some(members) = consts(branches) {
            map.remove(key);
            if let Some(ty) = common_type(&members) {
                map.entry("type").or_insert(Value::String(ty.into()));
            }
            map.insert("enum".into(), Value::Array(members));
        }
    }
    if let Some(c) = map.remove("const") {
        if let Some(ty) = common_type(std::slice::from_ref(&c)) {
            map.entry("type").or_insert(Value::String(ty.into()));
        }
        map.insert("enum".into(), Value::Array(vec![c]));
    }
    map.into_iter().map(|(k, v)| (k, to_pydantic(v))).collect()
}

/// The values of branches that are each one `const` (or one-member `enum`).
fn consts(branches: &[Value]) -> Option<Vec<Value>> {
    branches
        .iter()
        .map(|b| match (b.get("const"), b.get("enum")) {
            (Some(c), _) => Some(c.clone()),
            (None, Some(Value::Array(e))) if e.len() == 1 => Some(e[0].clone()),
            _ => None,
        })
        .collect()
}

/// The JSON type all `values` share, as a schema `type`.
fn common_type(values: &[Value]) -> Option<&'static str> {
    let ty = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::Bool(_) => Some("boolean"),
        _ => None,
    };
    let first = ty(values.first()?)?;
    values.iter().all(|v| ty(v) == Some(first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemars_shapes_become_pydantic_shapes() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "port": {"type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535},
                "note": {"type": ["string", "null"], "description": "d"},
                "mode": {"oneOf": [{"const": "a", "description": "A"}, {"const": "b"}]},
                "only": {"const": 3},
                "at": {"type": "string", "format": "date-time"},
                "inner": {"anyOf": [{"$ref": "#/definitions/Inner"}, {"type": "null"}], "description": "x"}
            }
        });
        assert_eq!(
            to_pydantic(s),
            json!({
                "type": "object",
                "properties": {
                    "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                    "note": {"type": "string", "description": "d"},
                    "mode": {"type": "string", "enum": ["a", "b"]},
                    "only": {"type": "integer", "enum": [3]},
                    "at": {"type": "string", "format": "date-time"},
                    "inner": {"$ref": "#/definitions/Inner", "description": "x"}
                }
            })
        );
    }

    #[test]
    fn refs_move_to_another_definitions_path() {
        let mut s =
            json!({"items": {"$ref": "#/definitions/A"}, "x": [{"$ref": "#/definitions/B"}]});
        move_refs(&mut s, "#/definitions/", "#/$defs/");
        assert_eq!(
            s,
            json!({"items": {"$ref": "#/$defs/A"}, "x": [{"$ref": "#/$defs/B"}]})
        );
    }
}
