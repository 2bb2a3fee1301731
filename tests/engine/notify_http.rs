//! Finish notifications over real sockets, against hostile receivers (the URL is the
//! invoker's choice, so a notification must not be a server-side request forgery): no
//! redirect is followed, a refused address is never connected to (the listener sees nothing),
//! an endless answer is cut off, and slow receivers hold at most `notify_concurrency`
//! connections. Every listener is on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bk_plugin_engine::store::MemoryStore;
use bk_plugin_engine::{Engine, EngineConfig, FinishNotifier, HttpNotifier, NotifyPolicy};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::registry;
use bk_plugin_kit::serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A 127.0.0.1 listener that answers every connection with `answer` (after reading the
/// request head), counting connections and how many are open at once.
struct Receiver {
    port: u16,
    accepted: Arc<AtomicUsize>,
    max_open: Arc<AtomicUsize>,
}

#[derive(Clone, Copy)]
enum Answer {
    /// `200 {"result": true}`.
    Accept,
    /// `307` to another address.
    Redirect(u16),
    /// `200` and a chunked body that never ends.
    Endless,
    /// Nothing: the connection stays open until the client gives up.
    Stall,
}

impl Receiver {
    async fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let max_open = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (a, m) = (accepted.clone(), max_open.clone());
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                let open = open.clone();
                tokio::spawn(async move {
                    serve(conn, answer).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Receiver {
            port,
            accepted,
            max_open,
        }
    }

    fn url(&self, host: &str) -> String {
        format!(
            "http://{host}:{}/callback/node/?token=N0DE-T0KEN",
            self.port
        )
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn serve(mut conn: TcpStream, answer: Answer) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    match answer {
        Answer::Accept => {
            let body = r#"{"result": true}"#;
            let _ = conn
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
        Answer::Redirect(port) => {
            let _ = conn
                .write_all(
                    format!(
                        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{port}/\r\nContent-Length: 0\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
        }
        Answer::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("1000\r\n{}\r\n", " ".repeat(0x1000));
            // Until the client hangs up (bounded, so a broken client cannot hang the test).
            for _ in 0..100_000 {
                if conn.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
        Answer::Stall => {
            let _ = conn.read(&mut buf).await;
        }
    }
}

fn notifier(policy: NotifyPolicy) -> HttpNotifier {
    HttpNotifier::with_policy(Duration::from_secs(10), policy)
}

async fn send(n: &HttpNotifier, url: &str) -> Result<(), String> {
    n.send("t", url, &json!({"node": 1})).await
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let target = Receiver::start(Answer::Accept).await;
    let redirecting = Receiver::start(Answer::Redirect(target.port)).await;
    let n = notifier(NotifyPolicy::new().allow_loopback(true));
    let err = send(&n, &redirecting.url("127.0.0.1")).await.unwrap_err();
    assert_eq!(err, "HTTP 307");
    assert_eq!(redirecting.accepted(), 1);
    assert_eq!(
        target.accepted(),
        0,
        "the redirect target was never contacted"
    );
    // The receiver itself is fine.
    assert_eq!(send(&n, &target.url("127.0.0.1")).await, Ok(()));
}

#[tokio::test]
async fn a_refused_address_is_never_connected_to() {
    let r = Receiver::start(Answer::Accept).await;
    let production = notifier(NotifyPolicy::new());
    for host in ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.0.0.2"] {
        let err = send(&production, &r.url(host)).await.unwrap_err();
        assert!(err.contains("loopback"), "{host}: {err}");
    }
    // Link-local and metadata addresses: refused before any connection attempt, even when
    // an allowlist network covers them.
    let everything = notifier(NotifyPolicy::new().allow("0.0.0.0/0").unwrap());
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.0.23/",
        "http://[fe80::1]/",
        "http://100.100.100.200/",
    ] {
        let err = send(&everything, url).await.unwrap_err();
        assert!(err.contains("link-local or cloud metadata"), "{url}: {err}");
    }
    for url in [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:70/",
    ] {
        let err = send(&everything, url).await.unwrap_err();
        assert!(err.contains("is not http or https"), "{url}: {err}");
    }
    // An allowlist without the address refuses it too.
    let listed = notifier(
        NotifyPolicy::new()
            .allow("sops.example.com, 10.0.0.0/8")
            .unwrap(),
    );
    let err = send(&listed, &r.url("localhost")).await.unwrap_err();
    assert!(err.contains("loopback"), "{err}");
    assert_eq!(r.accepted(), 0, "the listener saw nothing");

    // Allowed: dev (loopback), or a network on the allowlist.
    let dev = notifier(NotifyPolicy::new().allow_loopback(true));
    assert_eq!(send(&dev, &r.url("localhost")).await, Ok(()));
    let allowed = notifier(NotifyPolicy::new().allow("127.0.0.1/32").unwrap());
    assert_eq!(send(&allowed, &r.url("127.0.0.1")).await, Ok(()));
    assert_eq!(r.accepted(), 2);
}

#[tokio::test]
async fn an_endless_answer_is_cut_off() {
    let r = Receiver::start(Answer::Endless).await;
    let n = notifier(NotifyPolicy::new().allow_loopback(true));
    let err = send(&n, &r.url("127.0.0.1")).await.unwrap_err();
    assert_eq!(err, "HTTP 200 with a body over 65536 bytes (cut off)");
}

/// Reports every finish (through `plugin_callback_info`); polls once first.
#[plugin(version = "17.0.0", enable_plugin_callback = true)]
pub struct Reporting;

#[derive(ContextInputs)]
pub struct Reported {
    pub plugin_callback_info: PluginCallbackInfo,
}

impl Plugin for Reporting {
    type Inputs = ();
    type ContextInputs = Reported;
    type Outputs = ();

    async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
        if ctx.state() == State::Empty {
            ctx.wait_poll(Duration::ZERO);
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_receivers_hold_at_most_notify_concurrency_connections() {
    const CONCURRENCY: usize = 16;
    let r = Receiver::start(Answer::Stall).await;
    let mut config = EngineConfig::default();
    config.notify_concurrency = CONCURRENCY;
    config.notify_timeout = Duration::from_secs(2);
    config.notify_policy = NotifyPolicy::new().allow_loopback(true);
    let engine = Engine::builder(registry(), Arc::new(MemoryStore::new()))
        .config(config)
        .build();
    let context = json!({"plugin_callback_info": {"url": r.url("127.0.0.1"), "data": {}}});
    for _ in 0..1000 {
        let first = engine
            .invoke("17.0.0", json!({}), context.clone())
            .await
            .unwrap();
        assert_eq!(first.state, State::Poll);
    }
    let handle = engine.start();
    // Every invocation finishes and queues its notification; the receivers never answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.store().counts().await.unwrap().polling > 0 {
        assert!(Instant::now() < deadline, "the polls did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Several rounds of timeouts: the first 16 time out, the next 16 go, ...
    tokio::time::sleep(Duration::from_secs(5)).await;
    handle.shutdown().await;
    let max = r.max_open.load(Ordering::SeqCst);
    assert!(
        r.accepted() > CONCURRENCY,
        "rounds went on: {}",
        r.accepted()
    );
    // The receiver notices a hang-up a little after the notifier has moved on, so around a
    // round of timeouts it may briefly count the old and the new connection of a slot: at
    // most two per slot, against all 1,000 at once without the bound.
    assert!(max <= 2 * CONCURRENCY, "{max} connections open at once");
    assert!(
        engine.store().counts().await.unwrap().notifications > 0,
        "the rest wait their turn in the store"
    );
}
