//! Plugin-finish notifications (protocol.md §5): POST the caller's `data` to its `url`.

mod http;
mod policy;

use std::fmt;

use bk_plugin_core::BoxFuture;
use serde_json::Value;

pub use http::HttpNotifier;
pub use http::redact_url;
pub use policy::NotifyPolicy;

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

    /// [`send`](FinishNotifier::send) with the W3C `traceparent` the request should carry
    /// (the invocation's trace; `None`: none). The default ignores it.
    fn send_traced<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
        traceparent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), String>> {
        let _ = traceparent;
        self.send(trace_id, url, data)
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
