//! Slow and hostile clients (docs/deployment.md, "Limits and failure behaviour"): thousands
//! of half-sent request heads are closed after the header timeout while ordinary requests
//! are answered, an idle keep-alive connection is closed as well, a body that trickles in is
//! answered 408 after the body timeout, and past `max_connections` new connections wait
//! instead of being served without bound. Everything on 127.0.0.1, bounded in count and time.

use std::time::{Duration, Instant};

use bk_plugin_kit::http::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use bk_plugin_tests::server::{dev_config, serve};

/// A generous bound for "closed after the timeout": liveness, not a measurement.
const WITHIN: Duration = Duration::from_secs(15);

fn config(header_timeout: Duration, max_connections: usize) -> Config {
    let mut c = dev_config();
    c.header_timeout = header_timeout;
    c.body_timeout = Duration::from_secs(1);
    c.max_connections = max_connections;
    c
}

/// The soft limit on open files of this process (`/proc/self/limits`).
fn open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

/// Waits until the server closes `conn` (EOF or reset), reading and discarding what it sends.
async fn closed_by_server(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn meta_ok(base: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client
        .get(format!("{base}/bk_plugin/meta/"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_half_sent_heads_are_closed_and_others_are_served_meanwhile() {
    // Each connection costs this process two descriptors (client and server side).
    let n = 3000.min(open_files_limit().saturating_sub(200) / 2);
    assert!(n >= 400, "too few open files allowed to test: {n}");
    let base = serve(Server::new(config(Duration::from_secs(1), 10_000))).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"POST /bk_plugin/invoke/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
            .await
            .unwrap();
        conns.push(c);
    }
    // Ordinary requests are answered while the half-sent ones are open.
    for _ in 0..20 {
        assert!(meta_ok(&base).await, "an ordinary request failed");
    }
    let mut still_open = 0;
    for c in &mut conns {
        if !closed_by_server(c).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "of {n} half-sent connections");
    assert!(meta_ok(&base).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let base = serve(Server::new(config(Duration::from_secs(1), 64))).await;
    let mut c = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    c.write_all(b"GET /bk_plugin/meta/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = c.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    // Kept alive, then closed once idle for the header timeout.
    assert!(closed_by_server(&mut c).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_is_answered_408_after_the_body_timeout() {
    let base = serve(Server::new(config(Duration::from_secs(10), 64))).await;
    let mut c = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    c.write_all(
        b"POST /bk_plugin/invoke/1.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .await
    .unwrap();
    let writer = tokio::spawn(async move {
        // One byte every 200 ms: never idle long, never done (bounded: 50 bytes).
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if c.write_all(b" ").await.is_err() {
                break;
            }
        }
        c
    });
    let mut c = writer.await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WITHIN, c.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("request body not received within 1 s"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_new_connections_wait_for_a_free_slot() {
    const MAX: usize = 8;
    let base = serve(Server::new(config(Duration::from_secs(30), MAX))).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..MAX {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /bk_plugin/meta/ HTTP/1.1\r\n")
            .await
            .unwrap();
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Every slot is held: a new request waits (in the kernel's backlog), unanswered.
    let waiting = tokio::spawn({
        let base = base.clone();
        async move { meta_ok(&base).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "answered beyond max_connections");
    // A slot frees: the waiting request is served.
    drop(idle.pop());
    assert!(waiting.await.unwrap());
}
