//! Secrets at rest: every [`Secret`](bk_plugin_core::Secret) value of an invocation's inputs
//! and context is encrypted before the row is stored, and decrypted only to hand it to
//! `execute` (engine.md, "Secrets").
//!
//! A sealed value is the string `bk-secret:v1:<Fernet token of the value's JSON text>`. The key
//! is derived from the app secret with HKDF-SHA256 (info `bk-plugin-kit secret fields v1`), so it
//! is not the callback key although both come from one secret. Previous app secrets can be
//! given to open values sealed before a rotation.

use std::fmt;

use bk_plugin_core::{RegisteredPlugin, Registry, SecretFields};
use serde_json::Value;
use sha2::Sha256;

use crate::store::ScheduleRecord;
use crate::{CallbackSigner, Engine};

/// What starts a sealed value.
pub const SEALED_PREFIX: &str = "bk-secret:v1:";

/// HKDF's `info`: what the derived key is for.
const KEY_INFO: &[u8] = b"bk-plugin-kit secret fields v1";

/// The keys secrets are sealed with: the current one first, then previous ones (opening only).
#[derive(Clone)]
pub struct SecretKey {
    keys: Vec<fernet::Fernet>,
}

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No key opens it: the app secret changed and the previous one is not configured.
    #[error(
        "a secret input cannot be decrypted with the configured keys: the app secret changed? \
         Give the previous one in BK_PLUGIN_PREVIOUS_APP_SECRETS"
    )]
    WrongKey,
    /// It opened, but does not hold a JSON value.
    #[error("a secret input was decrypted but is not a JSON value")]
    Corrupt,
}

impl SecretKey {
    /// The key derived from the app secret (`BKPAAS_APP_SECRET`).
    pub fn from_app_secret(secret: &str) -> Self {
        SecretKey {
            keys: vec![derive(secret)],
        }
    }

    /// Also opens values sealed with the key of `secret` (a previous app secret).
    pub fn with_previous(mut self, secret: &str) -> Self {
        self.keys.push(derive(secret));
        self
    }

    /// `value` (its JSON text) sealed with the current key.
    pub fn seal(&self, value: &Value) -> String {
        format!(
            "{SEALED_PREFIX}{}",
            self.keys[0].encrypt(value.to_string().as_bytes())
        )
    }

    /// The value sealed in `sealed`, trying each key.
    pub fn open(&self, sealed: &str) -> Result<Value, SealError> {
        let token = sealed.strip_prefix(SEALED_PREFIX).unwrap_or(sealed);
        let plain = self
            .keys
            .iter()
            .find_map(|k| k.decrypt(token).ok())
            .ok_or(SealError::WrongKey)?;
        serde_json::from_slice(&plain).map_err(|_| SealError::Corrupt)
    }

    /// `document` with the values at `fields` sealed.
    pub fn seal_fields(&self, fields: &SecretFields, document: &Value) -> Value {
        let sealed: Result<Value, std::convert::Infallible> =
            fields.map(document, &mut |v| Ok(Value::String(self.seal(v))));
        match sealed {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// `document` with the values at `fields` opened. A value that is not sealed (a row
    /// stored before the field was a secret) is left as it is.
    pub fn open_fields(&self, fields: &SecretFields, document: &Value) -> Result<Value, SealError> {
        fields.map(document, &mut |v| match v {
            Value::String(s) if s.starts_with(SEALED_PREFIX) => self.open(s),
            other => Ok(other.clone()),
        })
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({} key(s))", self.keys.len())
    }
}

fn derive(secret: &str) -> fernet::Fernet {
    let mut okm = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(None, secret.as_bytes())
        .expand(KEY_INFO, &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    let encoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE.encode(okm)
    };
    fernet::Fernet::new(&encoded).expect("32 bytes always make a valid Fernet key")
}

/// The key of an engine built without [`EngineBuilder::secret_key`](crate::EngineBuilder::secret_key).
pub(crate) fn default_key(registry: &Registry, signer: Option<&CallbackSigner>) -> SecretKey {
    if let Some(signer) = signer {
        return SecretKey::from_app_secret(signer.key().to_base64());
    }
    let has_secrets = registry
        .plugins()
        .any(|p| !p.secret_inputs().is_empty() || !p.secret_context().is_empty());
    if has_secrets {
        tracing::warn!(
            "no secret key and no callback signer: secret inputs are sealed at rest with a fixed \
             development key; set EngineBuilder::secret_key"
        );
    }
    SecretKey::from_app_secret(DEV_KEY_SECRET)
}

/// What the development key is derived from.
const DEV_KEY_SECRET: &str = "bk-plugin-kit development secret key";

impl Engine {
    /// An invocation's inputs and context as they are stored: their secrets sealed.
    pub(crate) fn seal_data(
        &self,
        plugin: &RegisteredPlugin,
        inputs: &Value,
        context: &Value,
    ) -> (Value, Value) {
        let key = &self.inner.secret_key;
        (
            key.seal_fields(plugin.secret_inputs(), inputs),
            key.seal_fields(plugin.secret_context(), context),
        )
    }

    /// A stored row's inputs and context for `execute`: their secrets opened. The error is the
    /// invocation's `err` (FAIL).
    pub(crate) fn open_data(
        &self,
        plugin: Option<&RegisteredPlugin>,
        record: &ScheduleRecord,
    ) -> Result<(Value, Value), String> {
        let Some(plugin) = plugin else {
            return Ok((record.inputs.clone(), record.context.clone()));
        };
        let key = &self.inner.secret_key;
        let opened = key
            .open_fields(plugin.secret_inputs(), &record.inputs)
            .and_then(|i| {
                Ok((
                    i,
                    key.open_fields(plugin.secret_context(), &record.context)?,
                ))
            });
        opened.map_err(|e| {
            tracing::error!(trace_id = record.trace_id, error = %e, "opening the secret inputs failed");
            format!("plugin schedule failed: {e}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_values_open_with_the_current_or_a_previous_key_only() {
        let old = SecretKey::from_app_secret("old");
        let sealed = old.seal(&json!("pw"));
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("pw"));
        assert_eq!(old.open(&sealed), Ok(json!("pw")));
        let rotated = SecretKey::from_app_secret("new");
        assert_eq!(rotated.open(&sealed), Err(SealError::WrongKey));
        assert_eq!(rotated.with_previous("old").open(&sealed), Ok(json!("pw")));
    }

    #[test]
    fn the_key_is_not_the_callback_key() {
        let app = "s";
        let callback = crate::CallbackKey::from_app_secret(app);
        let token = callback.seal(&"a".repeat(32), &"b".repeat(32));
        assert_eq!(
            SecretKey::from_app_secret(app).open(&token),
            Err(SealError::WrongKey)
        );
    }
}
