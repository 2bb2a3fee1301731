//! Gateway JWTs for tests: RSA key pairs and tokens shaped like the API gateway's.

use std::time::{SystemTime, UNIX_EPOCH};

use bk_plugin_kit::serde_json::json;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};

/// An RSA key pair as PEM.
pub struct Keys {
    /// PKCS#1 private key.
    pub private_pem: String,
    /// PKCS#1 public key.
    pub public_pem: String,
}

/// A fresh 2048-bit key pair.
pub fn keys() -> Keys {
    let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    Keys {
        private_pem: key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .unwrap()
            .to_string(),
        public_pem: key
            .to_public_key()
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .unwrap(),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A gateway JWT (RS512, `kid` my-plugin) for a verified `app` and `user`, expiring at `exp`.
pub fn jwt(keys: &Keys, app: &str, user: &str, exp: u64) -> String {
    jwt_from(keys, app, user, exp, now() - 10)
}

/// [`jwt`], valid from `nbf` (seconds since the epoch).
pub fn jwt_from(keys: &Keys, app: &str, user: &str, exp: u64, nbf: u64) -> String {
    sign(
        keys,
        &json!({
            "iss": "APIGW", "exp": exp, "nbf": nbf,
            "app": {"bk_app_code": app, "verified": true},
            "user": {"username": user, "verified": true},
        }),
    )
}

/// A gateway JWT for app `bk_sops` and user `admin`, valid for an hour, with the app and the
/// user verified or not: what the gateway signs for a resource that does not require them.
pub fn jwt_verifying(keys: &Keys, app_verified: bool, user_verified: bool) -> String {
    sign(
        keys,
        &json!({
            "iss": "APIGW", "exp": now() + 3600, "nbf": now() - 10,
            "app": {"bk_app_code": "bk_sops", "verified": app_verified},
            "user": {"username": "admin", "verified": user_verified},
        }),
    )
}

fn sign(keys: &Keys, claims: &bk_plugin_kit::serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some("my-plugin".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(keys.private_pem.as_bytes()).unwrap(),
    )
    .unwrap()
}
