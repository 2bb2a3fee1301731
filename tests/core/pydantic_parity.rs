//! Ground truth from pydantic 1.10.21 itself (`fixtures/pydantic/gen.py`): the schema of a
//! model using every supported field shape, and a grid of value × type conversions compared
//! value for value and error text for error text.

use std::collections::{BTreeMap, HashMap};

use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{self, Map, Value, json};
use bk_plugin_tests::support::fixture;

mod parity_dates;
mod parity_forms;

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

/// Asserts equal values and equal key order.
fn same_schema(actual: &Value, expected: &Value) {
    assert_eq!(actual, expected);
    assert_eq!(
        serde_json::to_string(actual).unwrap(),
        serde_json::to_string(expected).unwrap(),
        "same key order"
    );
}

#[test]
fn schema_of_choices_equals_pydantic() {
    let expected = fixture("pydantic/schemas.json");
    same_schema(
        &<parity_forms::Choices as Inputs>::schema(),
        &expected["choices"],
    );
    same_schema(
        &<parity_forms::ChoiceOutputs as Outputs>::schema(),
        &expected["choice_outputs"],
    );
}

#[test]
fn schema_of_constraints_equals_pydantic() {
    let expected = fixture("pydantic/schemas.json");
    same_schema(
        &<parity_forms::Constrained as Inputs>::schema(),
        &expected["constraints"],
    );
}

#[test]
fn schema_of_secrets_equals_pydantic() {
    let expected = fixture("pydantic/schemas.json");
    same_schema(&<Secrets as Inputs>::schema(), &expected["secrets"]);
}

#[test]
fn schema_of_dates_equals_pydantic() {
    let expected = fixture("pydantic/schemas.json");
    same_schema(
        &<parity_dates::Dates as Inputs>::schema(),
        &expected["dates"],
    );
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

#[derive(Inputs)]
pub struct VSecret {
    pub v: Secret,
}

/// The twin of `Secrets` in gen.py.
#[derive(Inputs)]
pub struct Secrets {
    pub token: Secret,
    #[field(description = "the API token")]
    pub described: Secret,
    pub maybe: Option<Secret>,
    #[field(default)]
    pub keys: Vec<Secret>,
}

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
        // The value held, and what it shows (`str(secret)`, the kit's `to_json`).
        "secret" => {
            let input = value.map_or(json!({}), |v| json!({ "v": v }));
            <VSecret as Inputs>::from_json(&input)
                .map(|m| json!({"ok": m.v.expose_secret(), "shown": FieldType::to_json(&m.v)}))
                .map_err(|e| e.to_string())
        }
        other => {
            let input = value.map_or(json!({}), |v| json!({ "v": v }));
            parity_forms::run(other, &input)
                .unwrap_or_else(|| panic!("unknown type {other} in coercion.json"))
        }
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
        if parity_dates::TYPES.contains(&ty) {
            mismatches.extend(parity_dates::mismatches(
                ty,
                &case["value"],
                &case["result"],
            ));
            continue;
        }
        let missing = case.get("missing").is_some();
        let value = (!missing).then_some(&case["value"]);
        let actual = run(ty, value);
        let expected = &case["result"];
        let actual = match (actual, expected.get("shown")) {
            (Ok(v), Some(shown)) if v["shown"] == *shown => Ok(v["ok"].clone()),
            (other, _) => other,
        };
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

#[test]
fn choices_validate_and_write_their_values_in_every_position() {
    use parity_forms::{Action, ChoiceOutputs, Choices, Level, Mode};
    let input = json!({
        "action": "stop", "described": "start", "mode": "slow", "port": 443.0,
        "many": ["start", "stop"], "by_name": [["a", "stop"]], "level": "2",
        "job": {"action": "start", "level": 1}, "jobs": [{"action": "stop"}],
    });
    let c = <Choices as Inputs>::from_json(&input).unwrap();
    assert_eq!(
        (c.action, c.level, c.mode),
        (Action::Stop, Level::High, Mode::Slow)
    );
    assert_eq!(c.by_name["a"], Action::Stop);
    let out = <Choices as Inputs>::to_json(&c);
    assert_eq!(out["port"], 443);
    assert_eq!(out["level"], 2);
    assert_eq!(out["many"], json!(["start", "stop"]));
    assert_eq!(out["job"], json!({"action": "start", "level": 1}));
    assert_eq!(
        <Choices as Inputs>::from_json(&out).map(|c| c.action).ok(),
        Some(Action::Stop)
    );
    let outputs = ChoiceOutputs {
        result: Action::Start,
        level: None,
        mode: Mode::Fast,
    };
    assert_eq!(
        Value::Object(<ChoiceOutputs as Outputs>::to_object(&outputs)),
        json!({"result": "start", "level": null, "mode": "fast"})
    );
    assert_eq!(
        bk_plugin_kit::Choice::value(&Level::High),
        bk_plugin_kit::ChoiceValue::Int(2)
    );
}

#[test]
fn constraint_errors_carry_paths_and_pydantic_texts() {
    let input = json!({
        "positive": 0, "below": 7, "step": 1.0, "name": "", "code": "A1",
        "tags": ["toolong", "ok"], "scores": [1, 101], "limits": {"a": 0}, "maybe_list": [1, 2, 3],
    });
    let err = <parity_forms::Constrained as Inputs>::from_json(&input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "8 validation errors for Inputs\n\
         positive\n  ensure this value is greater than 0 (type=value_error.number.not_gt; limit_value=0)\n\
         below\n  ensure this value is a multiple of 5 (type=value_error.number.not_multiple; multiple_of=5)\n\
         name\n  ensure this value has at least 1 characters (type=value_error.any_str.min_length; limit_value=1)\n\
         code\n  string does not match regex \"^[a-z]+[0-9]*$\" (type=value_error.str.regex; pattern=^[a-z]+[0-9]*$)\n\
         tags -> 0\n  ensure this value has at most 5 characters (type=value_error.any_str.max_length; limit_value=5)\n\
         scores -> 1\n  ensure this value is less than or equal to 100 (type=value_error.number.not_le; limit_value=100)\n\
         limits -> a\n  ensure this value is greater than 0 (type=value_error.number.not_gt; limit_value=0)\n\
         maybe_list\n  ensure this value has at most 2 items (type=value_error.list.max_items; limit_value=2)"
    );
}
