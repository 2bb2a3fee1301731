//! [`Secret`]: pydantic's `SecretStr` as a field type.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::FieldType;
use super::schema::Definitions;
use super::validate::Validator;

/// A string input that is never shown: pydantic's `SecretStr`.
///
/// Its schema is `{"type": "string", "writeOnly": true, "format": "password"}`, so SOPS renders
/// a password box. It validates as a `str` field does. `Debug` and `Display` print
/// `**********` (empty for an empty secret, as pydantic), and so does its JSON (an output, a
/// default in the schema). The engine encrypts it at rest in every store and decrypts it only
/// to hand it to `execute` (docs/engine.md, "Secrets"). The memory holding it is wiped when it
/// is dropped (`secrecy`).
///
/// ```
/// use bk_plugin_core::{FieldType, Secret};
/// use serde_json::json;
///
/// let token = Secret::new("s3cret");
/// assert_eq!(token.expose_secret(), "s3cret");
/// assert_eq!(format!("{token:?}"), r#"Secret("**********")"#);
/// assert_eq!(token.to_json(), json!("**********"));
/// ```
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// What a secret shows instead of its value (pydantic's `str(SecretStr)`).
    pub const MASK: &'static str = "**********";

    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself (pydantic's `get_secret_value()`). Keep it out of logs and errors.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }

    /// `**********`, or the empty string for an empty secret.
    fn masked(&self) -> &'static str {
        if self.is_empty() { "" } else { Self::MASK }
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&self.masked()).finish()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

impl FieldType for Secret {
    fn schema(_: &mut Definitions) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), json!("string"));
        m.insert("writeOnly".into(), json!(true));
        m.insert("format".into(), json!("password"));
        m
    }

    /// As a `str` field (pydantic's `SecretStr.validate` is `str_validator`).
    fn coerce(value: &Value, validator: &mut Validator) -> Option<Self> {
        String::coerce(value, validator).map(Secret::new)
    }

    fn to_json(&self) -> Value {
        json!(self.masked())
    }
}
