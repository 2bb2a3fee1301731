//! [`HttpNotifier`]: finish notifications over HTTP(S), under a [`NotifyPolicy`].

use std::sync::Arc;
use std::time::Duration;

use bk_plugin_core::BoxFuture;
use serde_json::Value;

use super::policy::PolicyResolver;
use super::{FinishNotifier, NotifyPolicy, accepted};

/// The most of a receiver's answer that is read; a longer body fails the attempt.
pub(crate) const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// POSTs JSON over HTTP(S) with a timeout. Success as the Python framework decides it: a 2xx
/// status and a JSON body that has no `result` key or a truthy one.
///
/// Guarded against server-side request forgery (the URL is the invoker's choice): only
/// `http`/`https`, the [`NotifyPolicy`] checked on every resolved address (IP literals
/// included), no redirects followed (a 3xx fails the attempt), no proxy from the environment,
/// and at most 64 KiB of the answer read.
///
/// TLS certificates are verified against the bundled Mozilla roots and the system's store
/// (so an internal CA installed on the host works); the Python framework does not verify.
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    /// `Err` only when the TLS backend cannot initialise: every attempt then fails with it
    /// (a client without the policy is never used instead).
    client: Result<reqwest::Client, String>,
    policy: Arc<NotifyPolicy>,
}

impl HttpNotifier {
    /// A notifier with the production [`NotifyPolicy`] whose requests time out after
    /// `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self::with_policy(timeout, NotifyPolicy::new())
    }

    /// A notifier that sends only where `policy` allows.
    pub fn with_policy(timeout: Duration, policy: NotifyPolicy) -> Self {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .build()
            .map_err(|e| format!("the notification HTTP client cannot be built: {e}"));
        HttpNotifier { client, policy }
    }

    /// Checks what can be checked before connecting: the scheme, and the policy for a host
    /// given as an IP address (the client's resolver is not asked for those).
    fn preflight(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("scheme {:?} is not http or https", parsed.scheme()));
        }
        match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self.policy.check(&ip.to_string(), ip.into())?,
            Some(url::Host::Ipv6(ip)) => self.policy.check(&ip.to_string(), ip.into())?,
            Some(url::Host::Domain(_)) => {}
            None => return Err("the URL has no host".into()),
        }
        Ok(parsed)
    }
}

/// A reqwest error with its causes, without the URL (which may carry a token).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `url` reduced to its scheme, host and port, for logs: a finish-notification URL may carry
/// the caller's token in its path or query.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
        Err(_) => "<invalid URL>".into(),
    }
}

impl FinishNotifier for HttpNotifier {
    fn send<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        self.send_traced(trace_id, url, data, None)
    }

    fn send_traced<'a>(
        &'a self,
        trace_id: &'a str,
        url: &'a str,
        data: &'a Value,
        traceparent: Option<&'a str>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let target = self.preflight(url)?;
            tracing::debug!(
                trace_id,
                url = redact_url(url),
                "sending finish notification"
            );
            let client = self.client.as_ref().map_err(Clone::clone)?;
            let mut request = client.post(target).json(data);
            if let Some(t) = traceparent {
                request = request.header("traceparent", t);
            }
            let mut resp = request.send().await.map_err(describe)?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(describe)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                    return Err(format!(
                        "HTTP {status} with a body over {MAX_RESPONSE_BODY} bytes (cut off)"
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            accepted(status, &body)
        })
    }
}
