//! Which changes of a type's own schema keys only let more values through: an `enum` that
//! gained members, a bound that moved outwards or went away, a `pattern` or `multipleOf`
//! dropped. Any other change of those keys (a new constraint, a member removed, a tighter
//! bound) may reject a value the old schema accepted.

use serde_json::{Map, Value};

/// Lower bounds: the new value must be absent or at most the old one.
const LOWER: [&str; 4] = ["minimum", "exclusiveMinimum", "minLength", "minItems"];
/// Upper bounds: the new value must be absent or at least the old one.
const UPPER: [&str; 4] = ["maximum", "exclusiveMaximum", "maxLength", "maxItems"];
/// Constraints that may be dropped but not changed.
const DROPPABLE: [&str; 2] = ["pattern", "multipleOf"];

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// `true` when every value `old` accepts, `new` accepts too, judged from these keys alone:
/// `type` equal (or `integer` → `number`), every other key equal or relaxed.
pub(crate) fn relaxes(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let old_type = old.get("type").and_then(Value::as_str);
    let new_type = new.get("type").and_then(Value::as_str);
    let type_ok =
        old_type == new_type || (old_type == Some("integer") && new_type == Some("number"));
    type_ok
        && old
            .keys()
            .chain(new.keys())
            .filter(|k| *k != "type")
            .all(|k| {
                let (o, n) = (old.get(k), new.get(k));
                match k.as_str() {
                    _ if o == n => true,
                    _ if n.is_none()
                        && (LOWER.contains(&k.as_str())
                            || UPPER.contains(&k.as_str())
                            || DROPPABLE.contains(&k.as_str())
                            || k == "enum") =>
                    {
                        true
                    }
                    "enum" => match (o.and_then(Value::as_array), n.and_then(Value::as_array)) {
                        (Some(o), Some(n)) => o.iter().all(|v| n.contains(v)),
                        _ => false,
                    },
                    k if LOWER.contains(&k) => {
                        matches!((number(o), number(n)), (Some(o), Some(n)) if n <= o)
                    }
                    k if UPPER.contains(&k) => {
                        matches!((number(o), number(n)), (Some(o), Some(n)) if n >= o)
                    }
                    _ => false,
                }
            })
}
