//! Validation state: the current path and every error found, rendered like pydantic v1.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::FieldType;

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
            ErrorKind::TooLarge { limit } => {
                format!("ensure this value is less than or equal to {limit}").into()
            }
            ErrorKind::TooSmall { limit } => {
                format!("ensure this value is greater than or equal to {limit}").into()
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
            ErrorKind::TooLarge { .. } => "value_error.number.not_le",
            ErrorKind::TooSmall { .. } => "value_error.number.not_ge",
            ErrorKind::Custom { error_type, .. } => error_type,
        }
    }

    fn context(&self) -> Option<(&'static str, &str)> {
        match self {
            ErrorKind::TooLarge { limit } | ErrorKind::TooSmall { limit } => {
                Some(("limit_value", limit))
            }
            _ => None,
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
            if let Some((k, v)) = e.kind.context() {
                out.push_str("; ");
                out.push_str(k);
                out.push('=');
                out.push_str(v);
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

    /// Reads field `key` of `object` as `T`: missing → `default`, or `None` for optional
    /// types, or a `field required` error.
    pub fn field<T: FieldType>(
        &mut self,
        object: &Map<String, Value>,
        key: &'static str,
        default: Option<fn() -> T>,
    ) -> Option<T> {
        self.path.push(PathSegment::Key(Cow::Borrowed(key)));
        let out = match object.get(key) {
            Some(value) => self.value::<T>(value),
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
