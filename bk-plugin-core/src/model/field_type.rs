//! [`FieldType`]: the types a model field may have, with their schema and lax conversion.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde_json::{Map, Number, Value, json};

use super::coerce::{self, IntError};
use super::constraints::{Constraints, PyKind};
use super::schema::Definitions;
use super::validate::{ErrorKind, PathSegment, Validator};

/// A type usable as a field of a plugin model (`#[derive(Inputs | ContextInputs | Outputs)]`).
///
/// It gives the field's JSON schema (as pydantic v1 would write it for the equivalent Python
/// type), converts a JSON value into `Self` with pydantic v1's lax rules (see
/// `docs/coercion.md`), and converts back to JSON.
///
/// Implemented for integers, `f32`/`f64`, `bool`, `String`, `Option<T>`, `Box<T>`, `Vec<T>`,
/// `serde_json::Value` (Python `Any`), `serde_json::Map<String, Value>` (`dict`),
/// `BTreeMap<String, T>` / `HashMap<String, T>` (`Dict[str, T]`), every derived model, every
/// `#[derive(Choice)]` enum, [`Secret`](crate::Secret), `Serde<T>` with the `schemars` feature,
/// and with the `chrono` feature chrono's `NaiveDateTime`,
/// `DateTime<FixedOffset>`, `DateTime<Utc>`, `NaiveDate`, `NaiveTime` and `TimeDelta`
/// (`datetime`, `date`, `time`, `timedelta`).
///
/// Implement it for your own types to use them as fields:
///
/// ```
/// use bk_plugin_core::{Definitions, ErrorKind, FieldType, Validator};
/// use serde_json::{Map, Value, json};
///
/// /// A port number, sent as an int or a numeric string.
/// struct Port(u16);
///
/// impl FieldType for Port {
///     fn schema(defs: &mut Definitions) -> Map<String, Value> {
///         u16::schema(defs)
///     }
///     fn coerce(value: &Value, v: &mut Validator) -> Option<Self> {
///         let n = u16::coerce(value, v)?;
///         if n == 0 {
///             v.error(ErrorKind::Custom { message: "port 0 is reserved".into(), error_type: "value_error.port".into() });
///             return None;
///         }
///         Some(Port(n))
///     }
///     fn to_json(&self) -> Value {
///         json!(self.0)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a field of a plugin model",
    label = "unsupported field type",
    note = "supported: integers, `f32`/`f64`, `bool`, `String`, `Option<T>`, `Vec<T>`, `Box<T>`, `serde_json::Value`, `serde_json::Map<String, Value>`, `BTreeMap<String, T>`, `HashMap<String, T>`, structs with `#[derive(Inputs)]`, `#[derive(ContextInputs)]` or `#[derive(Outputs)]`, enums with `#[derive(Choice)]`, `Secret`, and with the kit's features chrono's date and time types (`chrono`) and `Serde<T>` (`schemars`)",
    note = "to use another type, implement `bk_plugin_kit::FieldType` for it"
)]
pub trait FieldType: Sized + Send + Sync + 'static {
    /// `true` when the field may be missing without a default (`Option<T>`, `Value`): such a
    /// field is not listed in `required`.
    const OPTIONAL: bool = false;

    /// `true` only for `serde_json::Value` (Python `Any`): `Dict[str, Any]` has no
    /// `additionalProperties` in pydantic's schema.
    #[doc(hidden)]
    const IS_ANY: bool = false;

    /// What Python class this exact type is (`int`, `str`, an `Enum`, …).
    #[doc(hidden)]
    const SELF_KIND: PyKind = PyKind::Other;

    /// What pydantic's `field.type_` is for a field of this type: `Optional[X]` is `X`'s,
    /// `List[X]` and `Dict[str, X]` are `X` itself.
    #[doc(hidden)]
    const FIELD_KIND: PyKind = Self::SELF_KIND;

    /// `true` when the field's outer type (through `Optional`) is a list.
    #[doc(hidden)]
    const OUTER_LIST: bool = false;

    /// The type's schema keys (no title, description or default). Models add their
    /// definition to `defs` and return `{"$ref": ...}`.
    fn schema(defs: &mut Definitions) -> Map<String, Value>;

    /// [`schema`](FieldType::schema) with a field's constraints applied.
    #[doc(hidden)]
    fn schema_with(defs: &mut Definitions, _constraints: &Constraints) -> Map<String, Value> {
        Self::schema(defs)
    }

    /// Converts a non-null JSON value, recording every problem in `validator`.
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self>;

    /// [`coerce`](FieldType::coerce) under a field's constraints.
    #[doc(hidden)]
    fn coerce_with(
        value: &Value,
        validator: &mut Validator,
        _constraints: &Constraints,
    ) -> Option<Self> {
        Self::coerce(value, validator)
    }

    /// Converts JSON `null`: an error (`none is not an allowed value`) unless overridden.
    fn from_null(validator: &mut Validator) -> Option<Self> {
        validator.error(ErrorKind::NoneNotAllowed);
        None
    }

    /// The value of a missing field without a default: `None` means "required".
    fn missing() -> Option<Self> {
        None
    }

    /// Converts to JSON (outputs, schema defaults, stored data).
    fn to_json(&self) -> Value;
}

fn type_schema(ty: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(ty.into()));
    m
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldType for $t {
            const SELF_KIND: PyKind = PyKind::Number;
            fn schema(_: &mut Definitions) -> Map<String, Value> {
                type_schema("integer")
            }
            fn schema_with(_: &mut Definitions, c: &Constraints) -> Map<String, Value> {
                let mut m = type_schema("integer");
                c.number_schema(&mut m);
                m
            }
            fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
                Self::coerce_with(value, validator, &Constraints::NONE)
            }
            fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
                let wide = match coerce::int(value) {
                    Ok(i) => i,
                    Err(IntError::Invalid) => {
                        validator.error(ErrorKind::Integer);
                        return None;
                    }
                    Err(IntError::Overflow { negative }) => if negative { i128::MIN } else { i128::MAX },
                };
                // The field's bounds first, on Python's unbounded int; then the Rust type's
                // range; then `multiple_of` (docs/coercion.md, "Constraints").
                if !c.check_int_bounds(wide, validator) {
                    return None;
                }
                match <$t>::try_from(wide) {
                    Ok(_) if !c.check_int_multiple(wide, validator) => None,
                    Ok(v) => Some(v),
                    Err(_) => {
                        validator.error(if wide > 0 {
                            ErrorKind::TooLarge { limit: <$t>::MAX.to_string() }
                        } else {
                            ErrorKind::TooSmall { limit: <$t>::MIN.to_string() }
                        });
                        None
                    }
                }
            }
            fn to_json(&self) -> Value {
                json!(*self)
            }
        }
    )*};
}
int_field!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! float_field {
    ($($t:ty),*) => {$(
        impl FieldType for $t {
            const SELF_KIND: PyKind = PyKind::Number;
            fn schema(_: &mut Definitions) -> Map<String, Value> {
                type_schema("number")
            }
            fn schema_with(_: &mut Definitions, c: &Constraints) -> Map<String, Value> {
                let mut m = type_schema("number");
                c.number_schema(&mut m);
                m
            }
            fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
                Self::coerce_with(value, validator, &Constraints::NONE)
            }
            fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
                match coerce::float(value) {
                    Some(f) if !c.check_float(f, validator) => None,
                    Some(f) => Some(f as $t),
                    None => {
                        validator.error(ErrorKind::Float);
                        None
                    }
                }
            }
            fn to_json(&self) -> Value {
                Number::from_f64(f64::from(*self)).map_or(Value::Null, Value::Number)
            }
        }
    )*};
}
float_field!(f32, f64);

impl FieldType for bool {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        type_schema("boolean")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        let out = coerce::boolean(value);
        if out.is_none() {
            validator.error(ErrorKind::Bool);
        }
        out
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FieldType for String {
    const SELF_KIND: PyKind = PyKind::Str;
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        type_schema("string")
    }
    fn schema_with(_: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        let mut m = type_schema("string");
        c.str_schema(&mut m);
        m
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        Self::coerce_with(value, validator, &Constraints::NONE)
    }
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        let out = coerce::string(value);
        match &out {
            None => validator.error(ErrorKind::Str),
            Some(s) if !c.check_str(s, validator) => return None,
            Some(_) => {}
        }
        out
    }
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

/// Python `Any`: every value, `null` included; never required.
impl FieldType for Value {
    const OPTIONAL: bool = true;
    const IS_ANY: bool = true;
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        Map::new()
    }
    fn coerce(value: &Value, _: &mut Validator) -> Option<Self> {
        Some(value.clone())
    }
    fn from_null(_: &mut Validator) -> Option<Self> {
        Some(Value::Null)
    }
    fn missing() -> Option<Self> {
        Some(Value::Null)
    }
    fn to_json(&self) -> Value {
        self.clone()
    }
}

/// Python `dict`: any JSON object, or what `dict()` accepts (pairs, `[]`, `""`).
impl FieldType for Map<String, Value> {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        type_schema("object")
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        match coerce::dict_like(value) {
            Some(dict) => Some(dict.into_map()),
            None => {
                validator.error(ErrorKind::Dict);
                None
            }
        }
    }
    fn to_json(&self) -> Value {
        Value::Object(self.clone())
    }
}

/// Python `Optional[T]`: `null` or missing is `None`; not required.
impl<T: FieldType> FieldType for Option<T> {
    const OPTIONAL: bool = true;
    const FIELD_KIND: PyKind = T::FIELD_KIND;
    const OUTER_LIST: bool = T::OUTER_LIST;
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        T::schema(defs)
    }
    fn schema_with(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        T::schema_with(defs, c)
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        T::coerce(value, validator).map(Some)
    }
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        T::coerce_with(value, validator, c).map(Some)
    }
    fn from_null(_: &mut Validator) -> Option<Self> {
        Some(None)
    }
    fn missing() -> Option<Self> {
        Some(None)
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
}

impl<T: FieldType> FieldType for Box<T> {
    const OPTIONAL: bool = T::OPTIONAL;
    const IS_ANY: bool = T::IS_ANY;
    const SELF_KIND: PyKind = T::SELF_KIND;
    const FIELD_KIND: PyKind = T::FIELD_KIND;
    const OUTER_LIST: bool = T::OUTER_LIST;
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        T::schema(defs)
    }
    fn schema_with(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        T::schema_with(defs, c)
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        T::coerce(value, validator).map(Box::new)
    }
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        T::coerce_with(value, validator, c).map(Box::new)
    }
    fn from_null(validator: &mut Validator) -> Option<Self> {
        T::from_null(validator).map(Box::new)
    }
    fn missing() -> Option<Self> {
        T::missing().map(Box::new)
    }
    fn to_json(&self) -> Value {
        T::to_json(self)
    }
}

/// Python `List[T]`: a JSON array only; items validated with their index in the path.
impl<T: FieldType> FieldType for Vec<T> {
    const FIELD_KIND: PyKind = T::SELF_KIND;
    const OUTER_LIST: bool = true;
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        Self::schema_with(defs, &Constraints::NONE)
    }
    fn schema_with(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        let mut m = type_schema("array");
        m.insert("items".into(), Value::Object(T::schema_with(defs, c)));
        c.items_schema(&mut m);
        m
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        Self::coerce_with(value, validator, &Constraints::NONE)
    }
    /// `min_items` / `max_items` are checked before the items, as pydantic's `conlist` does.
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        let Value::Array(items) = value else {
            validator.error(ErrorKind::List);
            return None;
        };
        if !c.check_items(items.len(), validator) {
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match validator.at(PathSegment::Index(i), |v| v.value_with::<T>(item, c)) {
                Some(x) if ok => out.push(x),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}

fn dict_schema<T: FieldType>(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
    let mut m = type_schema("object");
    if !T::IS_ANY {
        m.insert(
            "additionalProperties".into(),
            Value::Object(T::schema_with(defs, c)),
        );
    }
    m
}

/// `Dict[str, T]`: each key validated as `str` (a `None` key from a pair is an error at
/// `field -> __key__`), then its value as `T` at `field -> key`.
fn coerce_dict<T: FieldType>(
    value: &Value,
    validator: &mut Validator,
    c: &Constraints,
    mut insert: impl FnMut(String, T),
) -> bool {
    let Some(dict) = coerce::dict_like(value) else {
        validator.error(ErrorKind::Dict);
        return false;
    };
    let mut ok = true;
    for (key, item) in dict.entries() {
        let Some(key) = key else {
            validator.at(PathSegment::Key(Cow::Borrowed("__key__")), |v| {
                v.error(ErrorKind::NoneNotAllowed);
            });
            ok = false;
            continue;
        };
        let segment = PathSegment::Key(Cow::Owned(key.to_owned()));
        match validator.at(segment, |v| v.value_with::<T>(item, c)) {
            Some(x) => insert(key.to_owned(), x),
            None => ok = false,
        }
    }
    ok
}

/// Python `Dict[str, T]`, keys in sorted order.
impl<T: FieldType> FieldType for BTreeMap<String, T> {
    const FIELD_KIND: PyKind = T::SELF_KIND;
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        dict_schema::<T>(defs, &Constraints::NONE)
    }
    fn schema_with(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        dict_schema::<T>(defs, c)
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        Self::coerce_with(value, validator, &Constraints::NONE)
    }
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        let mut out = BTreeMap::new();
        coerce_dict::<T>(value, validator, c, |k, v| {
            out.insert(k, v);
        })
        .then_some(out)
    }
    fn to_json(&self) -> Value {
        Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}

/// Python `Dict[str, T]`.
impl<T: FieldType, S: BuildHasher + Default + Send + Sync + 'static> FieldType
    for HashMap<String, T, S>
{
    const FIELD_KIND: PyKind = T::SELF_KIND;
    fn schema(defs: &mut Definitions) -> Map<String, Value> {
        dict_schema::<T>(defs, &Constraints::NONE)
    }
    fn schema_with(defs: &mut Definitions, c: &Constraints) -> Map<String, Value> {
        dict_schema::<T>(defs, c)
    }
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        Self::coerce_with(value, validator, &Constraints::NONE)
    }
    fn coerce_with(value: &Value, validator: &mut Validator, c: &Constraints) -> Option<Self> {
        let mut out = HashMap::default();
        coerce_dict::<T>(value, validator, c, |k, v| {
            out.insert(k, v);
        })
        .then_some(out)
    }
    fn to_json(&self) -> Value {
        Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}
