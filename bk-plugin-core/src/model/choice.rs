//! [`Choice`]: enums of unit variants, as pydantic v1's `class Action(str, Enum)` /
//! `IntEnum` (a definition, referenced by `$ref`) or `Literal["a", "b"]` (an inline `enum`).

use std::any::TypeId;

use serde_json::{Map, Value};

use super::coerce::{self, IntError};
use super::py_value::{py_str, py_str_repr};
use super::schema::Definitions;
use super::validate::{ErrorKind, Validator};

/// The value of one member of a [`Choice`]: what callers send and what the schema lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceValue {
    /// A string member (`class Action(str, Enum)`, `Literal["a"]`).
    Str(&'static str),
    /// An integer member (`IntEnum`, `Literal[1]`).
    Int(i64),
}

impl ChoiceValue {
    /// The value as JSON.
    pub fn to_json(self) -> Value {
        match self {
            ChoiceValue::Str(s) => Value::String(s.to_owned()),
            ChoiceValue::Int(i) => Value::Number(i.into()),
        }
    }

    /// Python's `repr` of the value (`'start'`, `1`).
    fn repr(self) -> String {
        match self {
            ChoiceValue::Str(s) => py_str_repr(s),
            ChoiceValue::Int(i) => i.to_string(),
        }
    }
}

/// One member of a [`Choice`]: the Python member name (the Rust variant's name) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceMember {
    /// The variant's name, as Python's member name in `<Action.Start: 'start'>`.
    pub name: &'static str,
    /// The member's value.
    pub value: ChoiceValue,
}

/// An enum of unit variants usable as a model field: derive it with `#[derive(Choice)]`.
///
/// Without `#[choice(literal)]` it is pydantic's `class Name(str, Enum)` (string values) or
/// `class Name(IntEnum)` (integer discriminants): a definition in `definitions`, referenced by
/// `$ref`. With `#[choice(literal)]` it is `Literal[...]`: an inline `enum`. See
/// `docs/macros.md`.
pub trait Choice: Sized + Send + Sync + 'static {
    /// The definition name and title (the enum's name, or `#[choice(rename)]`).
    const NAME: &'static str;
    /// `module_path!()` of the enum, for pydantic-style long names on name clashes.
    const MODULE_PATH: &'static str;
    /// The definition's description: the doc comment, or `An enumeration.` as pydantic writes.
    const DESCRIPTION: &'static str;
    /// `true` for `#[choice(literal)]`.
    const LITERAL: bool;
    /// The members, in declaration order.
    const MEMBERS: &'static [ChoiceMember];

    /// The variant at `index` in [`MEMBERS`](Choice::MEMBERS).
    fn from_index(index: usize) -> Self;

    /// This variant's index in [`MEMBERS`](Choice::MEMBERS).
    fn index(&self) -> usize;

    /// This variant's value.
    fn value(&self) -> ChoiceValue {
        Self::MEMBERS[self.index()].value
    }
}

fn is_int<C: Choice>() -> bool {
    matches!(C::MEMBERS.first(), Some(m) if matches!(m.value, ChoiceValue::Int(_)))
}

fn enum_schema<C: Choice>() -> Map<String, Value> {
    let mut m = Map::new();
    let values = C::MEMBERS.iter().map(|m| m.value.to_json()).collect();
    m.insert("enum".into(), Value::Array(values));
    let ty = if is_int::<C>() { "integer" } else { "string" };
    m.insert("type".into(), Value::String(ty.into()));
    m
}

/// [`FieldType::schema`](super::FieldType::schema) of a [`Choice`].
#[doc(hidden)]
pub fn choice_schema<C: Choice>(defs: &mut Definitions) -> Map<String, Value> {
    if C::LITERAL {
        return enum_schema::<C>();
    }
    defs.define(TypeId::of::<C>(), C::NAME, C::MODULE_PATH, |_| {
        let mut def = Map::new();
        def.insert("title".into(), Value::String(C::NAME.into()));
        def.insert("description".into(), Value::String(C::DESCRIPTION.into()));
        def.extend(enum_schema::<C>());
        def
    })
}

/// [`FieldType::to_json`](super::FieldType::to_json) of a [`Choice`].
#[doc(hidden)]
pub fn choice_to_json<C: Choice>(value: &C) -> Value {
    value.value().to_json()
}

fn find_int<C: Choice>(i: i128) -> Option<C> {
    let i = i64::try_from(i).ok()?;
    C::MEMBERS
        .iter()
        .position(|m| m.value == ChoiceValue::Int(i))
        .map(C::from_index)
}

fn find_str<C: Choice>(s: &str) -> Option<C> {
    C::MEMBERS
        .iter()
        .position(|m| matches!(m.value, ChoiceValue::Str(v) if v == s))
        .map(C::from_index)
}

/// A JSON value as a Python dict key equal to an `int`: ints, `True`/`False`, integral floats.
fn hashes_as_int(value: &Value) -> Option<i128> {
    match value {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e38)
                    .map(|f| f as i128)
            }),
        _ => None,
    }
}

fn permitted<C: Choice>() -> String {
    let reprs: Vec<String> = C::MEMBERS.iter().map(|m| m.value.repr()).collect();
    reprs.join(", ")
}

fn enum_error<C: Choice>(validator: &mut Validator) {
    let members: Vec<String> = C::MEMBERS
        .iter()
        .map(|m| format!("<{}.{}: {}>", C::NAME, m.name, m.value.repr()))
        .collect();
    validator.error(ErrorKind::Enumeration {
        permitted: permitted::<C>(),
        enum_values: format!("[{}]", members.join(", ")),
    });
}

/// [`FieldType::coerce`](super::FieldType::coerce) of a [`Choice`]:
///
/// - string enum: the exact string (`enum_member_validator`);
/// - integer enum (`IntEnum`): pydantic's `int_validator` first (`"1"`, `1.0`, `true`), then
///   the member lookup;
/// - literal: Python's dict lookup (`1`, `1.0` and `true` are one key; `"1"` is not).
#[doc(hidden)]
pub fn coerce_choice<C: Choice>(value: &Value, validator: &mut Validator) -> Option<C> {
    if C::LITERAL {
        let found = if is_int::<C>() {
            hashes_as_int(value).and_then(find_int::<C>)
        } else {
            value.as_str().and_then(find_str::<C>)
        };
        if found.is_none() {
            validator.error(ErrorKind::Const {
                given: py_str(value),
                permitted: permitted::<C>(),
                single: C::MEMBERS.len() == 1,
            });
        }
        return found;
    }
    let found = if is_int::<C>() {
        match coerce::int(value) {
            Ok(i) => find_int::<C>(i),
            Err(IntError::Overflow { .. }) => None,
            Err(IntError::Invalid) => {
                validator.error(ErrorKind::Integer);
                return None;
            }
        }
    } else {
        value.as_str().and_then(find_str::<C>)
    };
    if found.is_none() {
        enum_error::<C>(validator);
    }
    found
}
