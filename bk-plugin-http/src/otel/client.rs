//! [`ExportClient`]: the OTLP exporter's HTTP client, the runtime's own reqwest.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

/// How long one export request may take (the exporter's own timeout is applied too).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the exporter's requests with reqwest on a one-thread runtime of its own: the SDK's
/// batch processor exports from its own thread, outside the server's runtime, and must still
/// flush at shutdown after that runtime is gone.
#[derive(Debug, Clone)]
pub(super) struct ExportClient {
    client: reqwest::Client,
    runtime: Arc<ExportRuntime>,
}

#[derive(Debug)]
struct ExportRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        // Dropped from whatever thread drops the exporter, async or not: never block there.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl ExportClient {
    pub(super) fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bk-plugin-otlp")
            .enable_all()
            .build()
            .ok();
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        ExportClient {
            client,
            runtime: Arc::new(ExportRuntime(runtime)),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for ExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let Some(rt) = &self.runtime.0 else {
            return Err("the OTLP export runtime could not start".into());
        };
        let client = self.client.clone();
        let sent = rt.spawn(async move {
            let (parts, body) = request.into_parts();
            let resp = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut answer = Response::builder().status(resp.status());
            if let Some(h) = answer.headers_mut() {
                *h = resp.headers().clone();
            }
            let body = resp.bytes().await?;
            Ok::<_, HttpError>(answer.body(body)?)
        });
        sent.await?
    }
}
