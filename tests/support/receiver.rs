//! A finish-notification receiver on 127.0.0.1: records each request's headers and body and
//! accepts it (`{"result": true}`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bk_plugin_kit::http::axum::http::HeaderMap;
use bk_plugin_kit::http::axum::routing::post;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::serde_json::{Value, json};

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its JSON body.
    pub body: Value,
}

/// The receiver.
#[derive(Clone)]
pub struct Receiver {
    /// Its URL (`http://127.0.0.1:<port>/notify/`).
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Starts it on the current tokio runtime.
    pub async fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let r = received.clone();
        let app = Router::new().route(
            "/notify/",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let r = r.clone();
                async move {
                    r.lock().unwrap().push(Received { headers, body });
                    Json(json!({"result": true}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify/", listener.local_addr().unwrap());
        tokio::spawn(async move { bk_plugin_kit::http::axum::serve(listener, app).await });
        Receiver { url, received }
    }

    /// The first request, waiting for it up to `limit` (panics after).
    pub async fn first(&self, limit: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(r) = self.received.lock().unwrap().first().cloned() {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no notification within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
