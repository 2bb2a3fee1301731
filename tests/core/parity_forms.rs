//! The Rust twins of gen.py's choice and constraint models: `#[derive(Choice)]` enums (string,
//! integer, literal) in every field position, and `#[field(..)]` constraints.

use std::any::Any;
use std::collections::BTreeMap;

use bk_plugin_kit::FieldType;
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{Value, json};

// `class Action(str, Enum)` without a docstring: `An enumeration.`
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Variant doc comments are for rustdoc only.
    #[choice(rename = "start")]
    Start,
    #[choice(rename = "stop")]
    Stop,
}

/// Log level.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Low = 1,
    High = 2,
}

/// `Literal["fast", "slow"]`.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
#[choice(literal)]
pub enum Mode {
    #[choice(rename = "fast")]
    Fast,
    #[choice(rename = "slow")]
    Slow,
}

/// `Literal[80, 443]`.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
#[choice(literal)]
pub enum Port {
    Http = 80,
    Https = 443,
}

/// `Literal["x"]`.
#[derive(Choice, Debug, Clone, Copy, PartialEq, Eq)]
#[choice(literal)]
#[allow(non_camel_case_types)]
pub enum Only {
    x,
}

#[derive(Inputs, Debug)]
pub struct Job {
    pub action: Action,
    pub level: Option<Level>,
}

#[derive(Inputs, Debug)]
pub struct Choices {
    pub action: Action,
    #[field(default = Action::Start)]
    pub default_action: Action,
    #[field(description = "what to do")]
    pub described: Action,
    #[field(default = Action::Stop, title = "Act")]
    pub titled: Action,
    pub maybe: Option<Action>,
    #[field(default)]
    pub many: Vec<Action>,
    #[field(default)]
    pub by_name: BTreeMap<String, Action>,
    #[field(default)]
    pub nested_many: Vec<Vec<Action>>,
    #[field(default = Level::Low)]
    pub level: Level,
    pub mode: Mode,
    #[field(default = Port::Http)]
    pub port: Port,
    pub only: Option<Only>,
    #[field(default)]
    pub modes: Vec<Mode>,
    pub job: Job,
    #[field(default)]
    pub jobs: Vec<Job>,
}

#[derive(Outputs)]
pub struct ChoiceOutputs {
    pub result: Action,
    pub level: Option<Level>,
    #[field(default = Mode::Fast)]
    pub mode: Mode,
}

#[derive(Inputs, Debug)]
pub struct Constrained {
    #[field(default = 1, ge = 1, le = 10)]
    pub count: i64,
    #[field(gt = 0)]
    pub positive: i64,
    #[field(lt = 100, multiple_of = 5)]
    pub below: i64,
    #[field(default = 0.5, ge = 0, le = 1)]
    pub ratio: f64,
    #[field(gt = 0.5, lt = 10.5, multiple_of = 0.5)]
    pub step: f64,
    #[field(default = -1, le = -1)]
    pub negative: i64,
    #[field(min_length = 1, max_length = 8)]
    pub name: String,
    #[field(regex = "^[a-z]+[0-9]*$")]
    pub code: String,
    #[field(default = "a", regex = "a|b")]
    pub prefix: String,
    #[field(default, min_items = 1, max_items = 3, max_length = 5)]
    pub tags: Vec<String>,
    #[field(ge = 0, le = 100)]
    pub scores: Vec<i64>,
    /// a short note
    #[field(max_length = 10)]
    pub note: Option<String>,
    #[field(default, gt = 0)]
    pub limits: BTreeMap<String, i64>,
    #[field(default, min_items = 1)]
    pub matrix: Vec<Vec<i64>>,
    #[field(max_items = 2)]
    pub maybe_list: Option<Vec<i64>>,
}

macro_rules! grid {
    ($($key:literal => $name:ident: $ty:ty $(, [$($attr:tt)*])?;)*) => {
        $(
            #[derive(Inputs)]
            pub struct $name {
                $(#[field($($attr)*)])?
                pub v: $ty,
            }
        )*

        /// Runs `input` through the grid model named `ty` (gen.py's type name): the value as
        /// JSON or the error text; `None` for a type this file does not know.
        pub fn run(ty: &str, input: &Value) -> Option<Result<Value, String>> {
            $(
                if ty == $key {
                    return Some(
                        <$name as Inputs>::from_json(input)
                            .map(|m| grid_json(&m.v))
                            .map_err(|e| e.to_string()),
                    );
                }
            )*
            None
        }
    };
}

/// The grid's JSON of a validated value: `to_json`, except that a non-finite `f64` is
/// `{"nonfinite": repr}` as gen.py writes it (JSON has no NaN).
fn grid_json<T: FieldType>(v: &T) -> Value {
    match (v as &dyn Any).downcast_ref::<f64>() {
        Some(f) if f.is_nan() => json!({"nonfinite": "nan"}),
        Some(f) if f.is_infinite() => json!({"nonfinite": if *f > 0.0 { "inf" } else { "-inf" }}),
        _ => v.to_json(),
    }
}

grid! {
    "action" => GAction: Action;
    "level" => GLevel: Level;
    "mode" => GMode: Mode;
    "port" => GPort: Port;
    "only" => GOnly: Only;
    "optional_action" => GOptionalAction: Option<Action>;
    "list_action" => GListAction: Vec<Action>;
    "int_ge1" => IntGe1: i64, [ge = 1];
    "int_gt0" => IntGt0: i64, [gt = 0];
    "int_lt10" => IntLt10: i64, [lt = 10];
    "int_le10" => IntLe10: i64, [le = 10];
    "int_ge1_le10" => IntGe1Le10: i64, [ge = 1, le = 10];
    "int_multiple3" => IntMultiple3: i64, [multiple_of = 3];
    "int_ge_half" => IntGeHalf: i64, [ge = 0.5];
    "int_le_neg" => IntLeNeg: i64, [le = -1];
    "float_ge_half" => FloatGeHalf: f64, [ge = 0.5];
    "float_gt0_lt1" => FloatGt0Lt1: f64, [gt = 0, lt = 1];
    "float_multiple_tenth" => FloatMultipleTenth: f64, [multiple_of = 0.1];
    "float_ge1" => FloatGe1: f64, [ge = 1];
    "str_len2_3" => StrLen2To3: String, [min_length = 2, max_length = 3];
    "str_regex_a" => StrRegexA: String, [regex = "^a"];
    "str_regex_digits_end" => StrRegexDigitsEnd: String, [regex = "[0-9]+$"];
    "str_regex_alt" => StrRegexAlt: String, [regex = "a|b"];
    "str_regex_ci" => StrRegexCi: String, [regex = "(?i)abc"];
    "str_regex_len" => StrRegexLen: String, [min_length = 3, regex = "^[a-z]+$"];
    "list_items1_2" => ListItems1To2: Vec<i64>, [min_items = 1, max_items = 2];
    "list_ge1" => ListGe1: Vec<i64>, [ge = 1];
    "list_str_max1" => ListStrMax1: Vec<String>, [max_length = 1];
    "dict_gt0" => DictGt0: BTreeMap<String, i64>, [gt = 0];
    "optional_ge1" => OptionalGe1: Option<i64>, [ge = 1];
    "optional_list_max1" => OptionalListMax1: Option<Vec<i64>>, [max_items = 1];
}
