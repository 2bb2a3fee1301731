//! Callback tokens and URLs, byte-compatible with the Python framework (protocol.md §3.5).
//!
//! `token = Fernet(key).encrypt("<callback_id>:<trace_id>")`, with
//! `key = urlsafe_b64encode(sha256(app_secret).hexdigest()[:32])`. Tokens carry no expiry.
//! URLs issued by a Python deployment therefore stay valid after migrating to this runtime.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use bk_plugin_core::{CallbackIssuer, PluginError, PreparedCallback};
use sha2::{Digest, Sha256};

/// Why a callback token was rejected. The texts are the Python framework's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a Fernet token of this key, altered, or not `<id>:<id>`.
    #[error("invalid token {0}")]
    Invalid(String),
    /// Decrypted, but the ids are not 32 characters each. The message does not show them (the
    /// Python framework's does): a refusal must not hand out what the token hides.
    #[error("trace_id[***] or callback_id[***] 不合法")]
    BadIds {
        /// The decrypted trace id.
        trace_id: String,
        /// The decrypted callback id.
        callback_id: String,
    },
}

/// A Fernet key for callback tokens.
#[derive(Clone)]
pub struct CallbackKey {
    fernet: fernet::Fernet,
    encoded: String,
}

impl CallbackKey {
    /// The key the Python framework derives from the app secret (`BK_APP_SECRET`):
    /// `urlsafe_b64encode(sha256(secret).hexdigest()[:32].encode())`.
    pub fn from_app_secret(secret: &str) -> Self {
        let hex = format!("{:x}", Sha256::digest(secret.as_bytes()));
        let encoded = URL_SAFE.encode(&hex.as_bytes()[..32]);
        Self::from_base64(&encoded).expect("32 bytes always make a valid Fernet key")
    }

    /// A key given in Fernet's own form (`BK_PLUGIN_CALLBACK_KEY`): 32 bytes, URL-safe base64.
    pub fn from_base64(key: &str) -> Option<Self> {
        Some(CallbackKey {
            fernet: fernet::Fernet::new(key)?,
            encoded: key.to_owned(),
        })
    }

    /// The key in URL-safe base64, as `BK_PLUGIN_CALLBACK_KEY` would hold it.
    pub fn to_base64(&self) -> &str {
        &self.encoded
    }

    /// Encrypts `"<callback_id>:<trace_id>"`.
    pub fn seal(&self, callback_id: &str, trace_id: &str) -> String {
        self.fernet
            .encrypt(format!("{callback_id}:{trace_id}").as_bytes())
    }

    /// Decrypts a token into `(callback_id, trace_id)`, checking both are 32 characters.
    pub fn open(&self, token: &str) -> Result<(String, String), TokenError> {
        let invalid = || TokenError::Invalid(token.to_owned());
        let plain = self.fernet.decrypt(token).map_err(|_| invalid())?;
        let plain = String::from_utf8(plain).map_err(|_| invalid())?;
        let (callback_id, trace_id) = plain.split_once(':').ok_or_else(invalid)?;
        if callback_id.chars().count() != 32 || trace_id.chars().count() != 32 {
            return Err(TokenError::BadIds {
                trace_id: trace_id.to_owned(),
                callback_id: callback_id.to_owned(),
            });
        }
        Ok((callback_id.to_owned(), trace_id.to_owned()))
    }
}

impl fmt::Debug for CallbackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackKey(..)")
    }
}

/// Issues callback ids and URLs: `{host}/{stage}/callback/{token}/` as the Python framework.
#[derive(Debug, Clone)]
pub struct CallbackSigner {
    key: CallbackKey,
    prefix: String,
}

impl CallbackSigner {
    /// A signer whose URLs are `{host}/{stage}/callback/{token}/`; `host` is the gateway URL
    /// of the plugin (empty in dev, giving the relative `/dev/callback/...`), `stage` the
    /// environment (`BKPAAS_ENVIRONMENT`).
    pub fn new(key: CallbackKey, host: &str, stage: &str) -> Self {
        CallbackSigner {
            key,
            prefix: format!("{}/{stage}/callback/", host.trim_end_matches('/')),
        }
    }

    /// The key.
    pub fn key(&self) -> &CallbackKey {
        &self.key
    }

    /// The URL of `token`.
    pub fn url(&self, token: &str) -> String {
        format!("{}{token}/", self.prefix)
    }
}

/// A new 32-hex id (uuid4 without dashes), as the Python framework's `uuid4().hex`.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new callback id issued by run `round` of an invocation: 32 hex digits like the Python
/// framework's, the first 8 the round (so the engine knows which wait a callback belongs to
/// without storing issued ids), the rest random. The token that carries it is encrypted and
/// authenticated, so the round cannot be forged.
pub fn new_callback_id(round: u32) -> String {
    format!("{round:08x}{}", &new_id()[8..])
}

/// The round a callback id of [`new_callback_id`] was issued by (`None`: not such an id).
pub fn callback_round(callback_id: &str) -> Option<u32> {
    let hex = callback_id.get(..8)?;
    u32::from_str_radix(hex, 16).ok()
}

impl CallbackIssuer for CallbackSigner {
    fn prepare(&self, trace_id: &str, round: u32) -> Result<PreparedCallback, PluginError> {
        let id = new_callback_id(round);
        let token = self.key.seal(&id, trace_id);
        Ok(PreparedCallback {
            url: self.url(&token),
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_derivation_matches_python_test_vector() {
        let key = CallbackKey::from_app_secret(&"1".repeat(52));
        assert_eq!(
            key.to_base64(),
            "YTUzMjM0YjBjM2NjYTBhMWNkYWZmNGQ5YzJhZjMwZWU="
        );
    }

    #[test]
    fn seal_then_open() {
        let key = CallbackKey::from_app_secret("s");
        let (cb, tr) = (new_id(), new_id());
        let token = key.seal(&cb, &tr);
        assert_eq!(key.open(&token).unwrap(), (cb, tr));
    }

    #[test]
    fn callback_ids_carry_their_round() {
        for round in [1, 2, 255, u32::MAX] {
            let id = new_callback_id(round);
            assert_eq!(id.len(), 32);
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(callback_round(&id), Some(round));
        }
        assert_ne!(new_callback_id(1), new_callback_id(1));
        assert_eq!(callback_round("zz"), None);
    }

    #[test]
    fn url_shape() {
        let s = CallbackSigner::new(
            CallbackKey::from_app_secret("s"),
            "https://bkapi.example.com/api/p/",
            "prod",
        );
        assert_eq!(
            s.url("T"),
            "https://bkapi.example.com/api/p/prod/callback/T/"
        );
        let dev = CallbackSigner::new(CallbackKey::from_app_secret("s"), "", "dev");
        assert_eq!(dev.url("T"), "/dev/callback/T/");
    }
}
