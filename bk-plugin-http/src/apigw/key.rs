//! The gateway's public key (`GET public_key/`), which verifies its `X-Bkapi-JWT`.

use serde_json::Value;

use super::client::{GatewayError, Management};

/// Fetches the gateway's public key (PEM).
pub(crate) async fn fetch(api: &Management) -> Result<String, GatewayError> {
    let data = api.get("public_key/", &[]).await?;
    match data.get("public_key").and_then(Value::as_str) {
        Some(pem) if !pem.trim().is_empty() => Ok(pem.to_owned()),
        _ => Err(GatewayError::Reply {
            call: "GET public_key/".into(),
            status: 200,
            message: format!("the reply has no public_key: {data}"),
            hint: String::new(),
        }),
    }
}
