//! Ground truth from pydantic 1.10.21 itself (`fixtures/pydantic/gen.py`): the schema of a
//! model using every supported field shape, and a grid of value × type conversions compared
//! value for value and error text for error text.

use std::collections::{BTreeMap, HashMap};

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{self, Map, Value, json};
use bk_plugin_tests::support::fixture;

/// Feature switches.
///
/// Second paragraph of the docstring.
#[derive(Inputs, Debug)]
pub struct Flags {
    #[field(default = false)]
    pub verbose: bool,
    #[field(default = 1)]
    pub level: i64,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            verbose: false,
            level: 1,
        }
    }
}

// No doc comment: the pydantic twin has no docstring.
#[derive(Inputs, Debug)]
pub struct Target {
    pub host: String,
    #[field(default = 22)]
    pub port: i64,
}

// The Rust twin of `Inputs` in gen.py.
#[derive(Inputs, Debug)]
pub struct Full {
    pub name: String,
    #[field(default = 3, title = "次数", description = "how many")]
    pub count: i64,
    #[field(default = 0.5)]
    pub ratio: f64,
    #[field(default = true)]
    pub enabled: bool,
    #[field(default)]
    pub tags: Vec<String>,
    #[field(default)]
    pub raw_list: Vec<Value>,
    #[field(default)]
    pub meta: Map<String, Value>,
    #[field(default)]
    pub limits: BTreeMap<String, i64>,
    #[field(default)]
    pub extra: HashMap<String, Value>,
    pub anything: Value,
    pub note: Option<String>,
    #[field(description = "an optional note")]
    pub described_note: Option<String>,
    pub target: Target,
    #[field(description = "fallback target")]
    pub backup: Option<Target>,
    #[field(default)]
    pub targets: Vec<Target>,
    #[field(default)]
    pub flags: Flags,
    #[field(title = "Main target")]
    pub titled: Target,
    #[field(default = false)]
    pub http2_mode: bool,
    #[field(default = "x")]
    pub v2api: String,
    #[field(rename = "bizId")]
    pub biz_id: i64,
}

#[derive(Inputs)]
pub struct Empty {}

#[test]
fn schema_of_every_field_shape_equals_pydantic() {
    let expected = fixture("pydantic/schemas.json");
    let actual = <Full as Inputs>::schema();
    assert_eq!(actual, expected["full"]);
    assert_eq!(
        serde_json::to_string(&actual).unwrap(),
        serde_json::to_string(&expected["full"]).unwrap(),
        "same key order"
    );
    assert_eq!(<Empty as Inputs>::schema(), expected["empty"]);
    assert_eq!(<() as Inputs>::schema(), expected["empty"]);
}

macro_rules! grid_model {
    ($name:ident, $ty:ty) => {
        #[derive(Inputs)]
        pub struct $name {
            pub v: $ty,
        }
        impl $name {
            #[allow(dead_code)]
            fn check(value: Option<&Value>) -> Result<Value, String> {
                let input = match value {
                    Some(v) => json!({ "v": v }),
                    None => json!({}),
                };
                <$name as Inputs>::from_json(&input)
                    .map(|m| FieldType::to_json(&m.v))
                    .map_err(|e| e.to_string())
            }
        }
    };
}

use bk_plugin_kit::FieldType;

grid_model!(VInt, i64);
grid_model!(VFloat, f64);
grid_model!(VStr, String);
grid_model!(VBool, bool);
grid_model!(VDict, Map<String, Value>);
grid_model!(VListInt, Vec<i64>);
grid_model!(VDictStrInt, BTreeMap<String, i64>);
grid_model!(VOptionalInt, Option<i64>);
grid_model!(VTarget, Target);

/// Runs `value` through the model of `type` and returns the value as JSON or the error text.
fn run(ty: &str, value: Option<&Value>) -> Result<Value, String> {
    match ty {
        "int" => VInt::check(value),
        "float" => {
            // Non-finite floats have no JSON form: compare them by Python repr.
            let input = value.map_or(json!({}), |v| json!({ "v": v }));
            <VFloat as Inputs>::from_json(&input)
                .map(|m| {
                    if m.v.is_finite() {
                        json!(m.v)
                    } else {
                        json!({"nonfinite": if m.v.is_nan() { "nan".to_owned() } else if m.v > 0.0 { "inf".to_owned() } else { "-inf".to_owned() }})
                    }
                })
                .map_err(|e| e.to_string())
        }
        "str" => VStr::check(value),
        "bool" => VBool::check(value),
        "dict" => VDict::check(value),
        "list_int" => VListInt::check(value),
        "dict_str_int" => VDictStrInt::check(value),
        "optional_int" => VOptionalInt::check(value),
        "target" => VTarget::check(value),
        other => panic!("unknown type {other} in coercion.json"),
    }
}

#[test]
fn coercion_grid_equals_pydantic() {
    let cases = fixture("pydantic/coercion.json");
    let cases = cases.as_array().unwrap();
    assert!(cases.len() > 500, "the grid should be complete");
    let mut mismatches = Vec::new();
    for case in cases {
        let ty = case["type"].as_str().unwrap();
        let missing = case.get("missing").is_some();
        let value = (!missing).then_some(&case["value"]);
        let actual = run(ty, value);
        let expected = &case["result"];
        let same = match (
            &actual,
            expected.get("ok"),
            expected.get("err"),
            expected.get("nonfinite"),
        ) {
            (Ok(v), Some(ok), _, _) => v == ok,
            (Err(e), _, Some(err), _) => Some(e.as_str()) == err.as_str(),
            (Ok(v), _, _, Some(nf)) => v["nonfinite"] == *nf,
            _ => false,
        };
        if !same {
            mismatches.push(format!(
                "{ty} <- {}: rust {actual:?}, pydantic {expected}",
                case["value"]
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

#[test]
fn integer_range_errors_name_the_limit() {
    #[derive(Inputs, Debug)]
    pub struct Small {
        pub byte: u8,
        pub neg: u32,
    }
    let err = <Small as Inputs>::from_json(&json!({"byte": "300", "neg": -1})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 validation errors for Inputs\nbyte\n  ensure this value is less than or equal to 255 (type=value_error.number.not_le; limit_value=255)\nneg\n  ensure this value is greater than or equal to 0 (type=value_error.number.not_ge; limit_value=0)"
    );
}

#[test]
fn nested_errors_carry_list_index_and_dict_key_paths() {
    let input = json!({
        "name": "n", "target": {"host": "h"}, "titled": {"host": "h"}, "bizId": "1",
        "tags": ["ok", ["nested"]],
        "limits": {"a": 1, "b": "x"},
        "targets": [{"host": "h"}, {"port": 1}],
        "backup": 5,
    });
    let err = <Full as Inputs>::from_json(&input).unwrap_err();
    let locs: Vec<String> = err.errors().iter().map(|e| e.loc_string()).collect();
    assert_eq!(
        locs,
        ["tags -> 1", "limits -> b", "backup", "targets -> 1 -> host"]
    );
    assert!(
        err.to_string()
            .starts_with("4 validation errors for Inputs\n")
    );
}

#[test]
fn defaults_are_applied_and_to_json_round_trips() {
    let input = json!({"name": "n", "target": {"host": "h"}, "titled": {"host": "t", "port": "2"}, "bizId": 9, "unknown": 1});
    let full = <Full as Inputs>::from_json(&input).unwrap();
    assert_eq!(full.count, 3);
    assert_eq!(full.flags.level, 1);
    assert_eq!(full.titled.port, 2);
    assert_eq!(full.v2api, "x");
    assert!(full.note.is_none());
    let json = <Full as Inputs>::to_json(&full);
    assert_eq!(json["bizId"], 9);
    assert!(json.get("unknown").is_none());
    let again = <Full as Inputs>::from_json(&json).unwrap();
    assert_eq!(<Full as Inputs>::to_json(&again), json);
}
