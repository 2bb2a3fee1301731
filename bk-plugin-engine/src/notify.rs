//! Plugin-finish notifications (protocol.md §5): POST the caller's `data` to its `url`.

use std::fmt;
use std::time::Duration;

use bk_plugin_core::BoxFuture;
use serde_json::Value;

/// Sends one finish notification. The default is [`HttpNotifier`]; tests record them.
pub trait FinishNotifier: Send + Sync + fmt::Debug + 'static {
    /// POSTs `data` to `url` for invocation `trace_id`; `Err` with a reason when the caller
    /// did not accept it.
    fn send<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// POSTs JSON over HTTP(S) with a timeout. Success as the Python framework decides it: a 2xx
/// status and a JSON body that has no `result` key or a truthy one.
///
/// TLS certificates are verified against the bundled Mozilla roots and the system's store
/// (so an internal CA installed on the host works); the Python framework does not verify.
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    client: reqwest::Client,
}

impl HttpNotifier {
    /// A notifier whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "building the HTTP client failed; notifications will use one without a timeout");
                reqwest::Client::new()
            });
        HttpNotifier { client }
    }
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The Python framework's success rule for a finish-callback response.
pub fn accepted(status: u16, body: &[u8]) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| format!("HTTP {status} with a body that is not JSON: {e}"))?;
    match json.get("result") {
        Some(r) if !truthy(r) => Err(format!("HTTP {status} with result {r}")),
        _ => Ok(()),
    }
}

impl FinishNotifier for HttpNotifier {
    fn send<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            tracing::debug!(trace_id, url, "sending finish notification");
            let resp = self
                .client
                .post(url)
                .json(data)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            accepted(status, &body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::accepted;

    #[test]
    fn success_rule() {
        assert!(accepted(200, br#"{"result": true}"#).is_ok());
        assert!(accepted(200, br#"{}"#).is_ok());
        assert!(accepted(201, br#"{"result": 1}"#).is_ok());
        assert!(accepted(200, br#"{"result": false}"#).is_err());
        assert!(accepted(200, br#"{"result": ""}"#).is_err());
        assert!(accepted(200, b"ok").is_err());
        assert!(accepted(500, br#"{"result": true}"#).is_err());
    }
}
