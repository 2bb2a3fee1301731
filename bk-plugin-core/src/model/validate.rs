//! Validation state: the current path and every error found, rendered like pydantic v1.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::FieldType;
use super::constraints::Constraints;

/// One step of an error's location: a field key, a dict key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A model field or dict key.
    Key(Cow<'static, str>),
    /// A list index.
    Index(usize),
}

impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSegment::Key(k) => f.write_str(k),
            PathSegment::Index(i) => write!(f, "{i}"),
        }
    }
}

/// What is wrong with a value, with pydantic v1's message and error type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `field required` (`value_error.missing`).
    Missing,
    /// `none is not an allowed value` (`type_error.none.not_allowed`).
    NoneNotAllowed,
    /// `value is not a valid integer` (`type_error.integer`).
    Integer,
    /// `value is not a valid float` (`type_error.float`).
    Float,
    /// `str type expected` (`type_error.str`).
    Str,
    /// `value could not be parsed to a boolean` (`type_error.bool`).
    Bool,
    /// `value is not a valid dict` (`type_error.dict`).
    Dict,
    /// `value is not a valid list` (`type_error.list`).
    List,
    /// `keywords must be strings` (`type_error`): a nested model given pairs with a key that
    /// is not a string (`[[1, "x"]]`), which Python's `cls(**dict(value))` refuses.
    KeywordsNotStrings,
    /// `ensure this value is less than or equal to {limit}` (`value_error.number.not_le`).
    TooLarge {
        /// The largest accepted value.
        limit: String,
    },
    /// `ensure this value is greater than or equal to {limit}` (`value_error.number.not_ge`).
    TooSmall {
        /// The smallest accepted value.
        limit: String,
    },
    /// `ensure this value is greater than {limit}` (`value_error.number.not_gt`).
    NotGt {
        /// The bound, as Python prints it.
        limit: String,
    },
    /// `ensure this value is less than {limit}` (`value_error.number.not_lt`).
    NotLt {
        /// The bound, as Python prints it.
        limit: String,
    },
    /// `ensure this value is a multiple of {multiple_of}` (`value_error.number.not_multiple`).
    NotMultiple {
        /// The divisor, as Python prints it.
        multiple_of: String,
    },
    /// `ensure this value has at least {limit} characters` (`value_error.any_str.min_length`).
    MinLength {
        /// The shortest accepted length.
        limit: usize,
    },
    /// `ensure this value has at most {limit} characters` (`value_error.any_str.max_length`).
    MaxLength {
        /// The longest accepted length.
        limit: usize,
    },
    /// `string does not match regex "{pattern}"` (`value_error.str.regex`).
    StrRegex {
        /// The pattern as written.
        pattern: &'static str,
    },
    /// `ensure this value has at least {limit} items` (`value_error.list.min_items`).
    MinItems {
        /// The fewest accepted items.
        limit: usize,
    },
    /// `ensure this value has at most {limit} items` (`value_error.list.max_items`).
    MaxItems {
        /// The most accepted items.
        limit: usize,
    },
    /// `value is not a valid enumeration member; permitted: 'a', 'b'` (`type_error.enum`).
    Enumeration {
        /// The members' values, as Python's `repr`s joined with `, `.
        permitted: String,
        /// The members as Python prints the list: `[<Action.start: 'start'>, ...]`.
        enum_values: String,
    },
    /// `unexpected value; permitted: 'a', 'b'` (`value_error.const`): a `Literal` mismatch.
    Const {
        /// The value received, as Python's `str()` prints it.
        given: String,
        /// The permitted values, as Python's `repr`s joined with `, `.
        permitted: String,
        /// `true` when there is one permitted value (Python prints the tuple `('a',)`).
        single: bool,
    },
    /// An error of a custom [`FieldType`].
    Custom {
        /// The message, e.g. `invalid datetime format`.
        message: Cow<'static, str>,
        /// The pydantic-style type, e.g. `value_error.datetime`.
        error_type: Cow<'static, str>,
    },
}

impl ErrorKind {
    /// The human message.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            ErrorKind::Missing => "field required".into(),
            ErrorKind::NoneNotAllowed => "none is not an allowed value".into(),
            ErrorKind::Integer => "value is not a valid integer".into(),
            ErrorKind::Float => "value is not a valid float".into(),
            ErrorKind::Str => "str type expected".into(),
            ErrorKind::Bool => "value could not be parsed to a boolean".into(),
            ErrorKind::Dict => "value is not a valid dict".into(),
            ErrorKind::List => "value is not a valid list".into(),
            ErrorKind::KeywordsNotStrings => "keywords must be strings".into(),
            ErrorKind::TooLarge { limit } => {
                format!("ensure this value is less than or equal to {limit}").into()
            }
            ErrorKind::TooSmall { limit } => {
                format!("ensure this value is greater than or equal to {limit}").into()
            }
            ErrorKind::NotGt { limit } => {
                format!("ensure this value is greater than {limit}").into()
            }
            ErrorKind::NotLt { limit } => format!("ensure this value is less than {limit}").into(),
            ErrorKind::NotMultiple { multiple_of } => {
                format!("ensure this value is a multiple of {multiple_of}").into()
            }
            ErrorKind::MinLength { limit } => {
                format!("ensure this value has at least {limit} characters").into()
            }
            ErrorKind::MaxLength { limit } => {
                format!("ensure this value has at most {limit} characters").into()
            }
            ErrorKind::StrRegex { pattern } => {
                format!("string does not match regex \"{pattern}\"").into()
            }
            ErrorKind::MinItems { limit } => {
                format!("ensure this value has at least {limit} items").into()
            }
            ErrorKind::MaxItems { limit } => {
                format!("ensure this value has at most {limit} items").into()
            }
            ErrorKind::Enumeration { permitted, .. } => {
                format!("value is not a valid enumeration member; permitted: {permitted}").into()
            }
            ErrorKind::Const { permitted, .. } => {
                format!("unexpected value; permitted: {permitted}").into()
            }
            ErrorKind::Custom { message, .. } => Cow::Borrowed(message),
        }
    }

    /// The pydantic error type, e.g. `type_error.integer`.
    pub fn error_type(&self) -> &str {
        match self {
            ErrorKind::Missing => "value_error.missing",
            ErrorKind::NoneNotAllowed => "type_error.none.not_allowed",
            ErrorKind::Integer => "type_error.integer",
            ErrorKind::Float => "type_error.float",
            ErrorKind::Str => "type_error.str",
            ErrorKind::Bool => "type_error.bool",
            ErrorKind::Dict => "type_error.dict",
            ErrorKind::List => "type_error.list",
            ErrorKind::KeywordsNotStrings => "type_error",
            ErrorKind::TooLarge { .. } => "value_error.number.not_le",
            ErrorKind::TooSmall { .. } => "value_error.number.not_ge",
            ErrorKind::NotGt { .. } => "value_error.number.not_gt",
            ErrorKind::NotLt { .. } => "value_error.number.not_lt",
            ErrorKind::NotMultiple { .. } => "value_error.number.not_multiple",
            ErrorKind::MinLength { .. } => "value_error.any_str.min_length",
            ErrorKind::MaxLength { .. } => "value_error.any_str.max_length",
            ErrorKind::StrRegex { .. } => "value_error.str.regex",
            ErrorKind::MinItems { .. } => "value_error.list.min_items",
            ErrorKind::MaxItems { .. } => "value_error.list.max_items",
            ErrorKind::Enumeration { .. } => "type_error.enum",
            ErrorKind::Const { .. } => "value_error.const",
            ErrorKind::Custom { error_type, .. } => error_type,
        }
    }

    /// pydantic's `ctx`, as `str(ValidationError)` appends it: `; key=value` each.
    fn context(&self) -> Vec<(&'static str, Cow<'_, str>)> {
        match self {
            ErrorKind::TooLarge { limit }
            | ErrorKind::TooSmall { limit }
            | ErrorKind::NotGt { limit }
            | ErrorKind::NotLt { limit } => vec![("limit_value", Cow::Borrowed(limit))],
            ErrorKind::MinLength { limit }
            | ErrorKind::MaxLength { limit }
            | ErrorKind::MinItems { limit }
            | ErrorKind::MaxItems { limit } => vec![("limit_value", limit.to_string().into())],
            ErrorKind::NotMultiple { multiple_of } => {
                vec![("multiple_of", Cow::Borrowed(multiple_of))]
            }
            ErrorKind::StrRegex { pattern } => vec![("pattern", Cow::Borrowed(*pattern))],
            ErrorKind::Enumeration { enum_values, .. } => {
                vec![("enum_values", Cow::Borrowed(enum_values))]
            }
            ErrorKind::Const {
                given,
                permitted,
                single,
            } => {
                let comma = if *single { "," } else { "" };
                vec![
                    ("given", Cow::Borrowed(given)),
                    ("permitted", format!("({permitted}{comma})").into()),
                ]
            }
            _ => Vec::new(),
        }
    }
}

/// One field error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path from the model root, e.g. `options -> value`.
    pub loc: Vec<PathSegment>,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl FieldError {
    /// The location joined with ` -> `, as pydantic prints it.
    pub fn loc_string(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.loc.iter().enumerate() {
            if i > 0 {
                out.push_str(" -> ");
            }
            out.push_str(&seg.to_string());
        }
        out
    }
}

/// Every error found while validating one model, rendered exactly like pydantic v1's
/// `str(ValidationError)`:
///
/// ```text
/// 3 validation errors for Inputs
/// template_id
///   value is not a valid integer (type=type_error.integer)
/// task_name
///   field required (type=value_error.missing)
/// options -> value
///   field required (type=value_error.missing)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ValidationError {
    model: &'static str,
    errors: Vec<FieldError>,
}

impl ValidationError {
    /// Builds an error for `model` (the name printed in the first line).
    pub fn new(model: &'static str, errors: Vec<FieldError>) -> Self {
        ValidationError { model, errors }
    }

    /// The model name in the message: `Inputs` or `ContextInputs`, as in the Python framework.
    pub fn model(&self) -> &'static str {
        self.model
    }

    /// All field errors, in field declaration order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    fn render(&self) -> String {
        let n = self.errors.len();
        let mut out = format!(
            "{n} validation error{} for {}",
            if n == 1 { "" } else { "s" },
            self.model
        );
        for e in &self.errors {
            out.push('\n');
            out.push_str(&e.loc_string());
            out.push_str("\n  ");
            out.push_str(&e.kind.message());
            out.push_str(" (type=");
            out.push_str(e.kind.error_type());
            for (k, v) in e.kind.context() {
                out.push_str("; ");
                out.push_str(k);
                out.push('=');
                out.push_str(&v);
            }
            out.push(')');
        }
        out
    }
}

/// Walks a JSON value, tracking the current path and collecting every error.
///
/// [`FieldType::coerce`] implementations report problems with [`Validator::error`] and return
/// `None`; containers descend with [`Validator::at`].
#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<PathSegment>,
    errors: Vec<FieldError>,
}

impl Validator {
    /// A validator at the root, with no errors.
    pub fn new() -> Self {
        Validator::default()
    }

    /// Records `kind` at the current path.
    pub fn error(&mut self, kind: ErrorKind) {
        self.errors.push(FieldError {
            loc: self.path.clone(),
            kind,
        });
    }

    /// Runs `f` one level deeper, at `segment`.
    pub fn at<T>(&mut self, segment: PathSegment, f: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let out = f(self);
        self.path.pop();
        out
    }

    /// Validates a present value as `T`: `null` goes to [`FieldType::from_null`], anything
    /// else to [`FieldType::coerce`].
    pub fn value<T: FieldType>(&mut self, value: &Value) -> Option<T> {
        if value.is_null() {
            T::from_null(self)
        } else {
            T::coerce(value, self)
        }
    }

    /// [`value`](Validator::value) under a field's constraints (generated code and the
    /// containers use it).
    #[doc(hidden)]
    pub fn value_with<T: FieldType>(&mut self, value: &Value, c: &Constraints) -> Option<T> {
        if value.is_null() {
            T::from_null(self)
        } else {
            T::coerce_with(value, self, c)
        }
    }

    /// Reads field `key` of `object` as `T`: missing → `default`, or `None` for optional
    /// types, or a `field required` error.
    pub fn field<T: FieldType>(
        &mut self,
        object: &Map<String, Value>,
        key: &'static str,
        default: Option<fn() -> T>,
    ) -> Option<T> {
        self.field_with(object, key, default, &Constraints::NONE)
    }

    /// [`field`](Validator::field) under the field's constraints.
    #[doc(hidden)]
    pub fn field_with<T: FieldType>(
        &mut self,
        object: &Map<String, Value>,
        key: &'static str,
        default: Option<fn() -> T>,
        constraints: &Constraints,
    ) -> Option<T> {
        self.path.push(PathSegment::Key(Cow::Borrowed(key)));
        let out = match object.get(key) {
            Some(value) => self.value_with::<T>(value, constraints),
            None => match default {
                Some(make) => Some(make()),
                None => match T::missing() {
                    Some(v) => Some(v),
                    None => {
                        self.error(ErrorKind::Missing);
                        None
                    }
                },
            },
        };
        self.path.pop();
        out
    }

    /// `true` if no error was recorded.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Finishes: `Ok(value)` if there was no error, else every error under `model`'s name.
    pub fn finish<T>(self, model: &'static str, value: Option<T>) -> Result<T, ValidationError> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(ValidationError::new(model, self.errors)),
        }
    }
}
