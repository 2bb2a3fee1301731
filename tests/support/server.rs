//! Starting a real HTTP server for a test: a fresh SQLite file, a free 127.0.0.1 port.

use bk_plugin_kit::http::{Config, Server};

/// `sqlite://<new temp dir>/s.db`, a fresh store per call.
pub fn temp_sqlite_url() -> String {
    let dir = crate::support::temp_dir("http");
    format!("sqlite://{}", dir.join("s.db").display())
}

/// The default (dev) configuration with a fresh SQLite file.
pub fn dev_config() -> Config {
    let mut c = Config::dev();
    c.database_url = temp_sqlite_url();
    c
}

/// Builds `server`, serves it on a free 127.0.0.1 port in the background (on the current
/// tokio runtime) and returns its base URL, `http://127.0.0.1:<port>`.
pub async fn serve(server: Server) -> String {
    let app = server.build().await.expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(app.serve(listener));
    base
}
