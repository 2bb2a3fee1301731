//! The plugin binary's store from the BK PaaS environment: with no `DATABASE_URL`, the MySQL
//! add-on's variables (`MYSQL_HOST`, ... with a password that needs escaping) select the
//! MySQL store — checked on CI's MariaDB — and outside dev with no store at all the server
//! refuses to start, saying what to enable, unless SQLite is asked for explicitly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bk_plugin_engine::store::Store;
use bk_plugin_tests::gateway::Gateway;
use bk_plugin_tests::jwt::keys;
use bk_plugin_tests::stores::mysql_url;
use bk_plugin_tests::support::temp_dir;

/// The binary in prod with `vars` (and nothing else from the environment).
fn plugin_server(vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plugin-server"));
    cmd.env_clear()
        .env("BKPAAS_ENVIRONMENT", "prod")
        .env("BKPAAS_APP_ID", "my-plugin")
        .env("BKPAAS_APP_SECRET", "s")
        .env("BK_PLUGIN_LISTEN", "127.0.0.1:0");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

/// Starts the server; returns it and its address once it serves (from its startup line).
fn start(mut cmd: Command) -> (Child, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(" on http://") => {
                let addr = l.split(" on http://").nth(1).unwrap();
                let addr = addr.split('/').next().unwrap().to_owned();
                std::thread::spawn(move || lines.for_each(drop));
                return (child, addr);
            }
            Some(Ok(_)) => {}
            other => panic!("the server did not start: {other:?}, {:?}", child.wait()),
        }
    }
}

async fn meta(addr: &str) -> String {
    let r = reqwest::get(format!("http://{addr}/bk_plugin/meta/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_dev_without_a_store_the_server_refuses_to_start() {
    let key = keys().public_pem;
    let out = plugin_server(&[("BK_APIGW_PUBLIC_KEY", &key)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no schedule store is configured: enable the MySQL add-on")
            && stderr.contains("MYSQL_HOST")
            && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
    // The same hook subcommand refuses too: its state would be lost with the container.
    let gw = Gateway::start("bp-my-plugin", &key).await;
    let tmpl = gw.url_template();
    let out = plugin_server(&[
        ("BKPAAS_BK_PLUGIN_APIGW_NAME", "bp-my-plugin"),
        ("BK_API_URL_TMPL", &tmpl),
        (
            "BKPAAS_DEFAULT_PREALLOCATED_URLS",
            r#"{"prod": "http://apps.example.com/"}"#,
        ),
    ])
    .args(["apigw", "sync"])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("enable the MySQL add-on"));
    assert!(gw.take_calls().is_empty());

    // SQLite asked for explicitly (a mounted volume, say) starts.
    let db = format!(
        "sqlite://{}",
        temp_dir("explicit-sqlite").join("s.db").display()
    );
    let (mut child, addr) = start(plugin_server(&[
        ("BK_APIGW_PUBLIC_KEY", &key),
        ("DATABASE_URL", &db),
    ]));
    assert!(meta(&addr).await.contains("\"result\":true"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mysql_addon_variables_select_the_mysql_store() {
    let Some(url) = mysql_url().await else {
        eprintln!("BK_PLUGIN_TEST_MYSQL_URL unset: skipped");
        return;
    };
    let parsed = reqwest::Url::parse(&url).unwrap();
    let (host, port) = (
        parsed.host_str().unwrap().to_owned(),
        parsed.port().unwrap_or(3306),
    );
    let database = parsed.path().trim_start_matches('/').to_owned();
    // An add-on user whose password needs escaping in a URL.
    let user = format!("addon_{database}");
    let user = &user[..user.len().min(32)];
    let password = "p@ss:w/rd%?#&=";
    {
        use sqlx::Connection;
        let mut admin = sqlx::MySqlConnection::connect(&url).await.unwrap();
        for sql in [
            format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'"),
            format!("GRANT ALL ON `{database}`.* TO '{user}'@'127.0.0.1'"),
        ] {
            sqlx::query(&sql).execute(&mut admin).await.unwrap();
        }
    }
    // The server fetches the gateway key at startup and keeps it in the add-on's database.
    let key = keys().public_pem;
    let gw = Gateway::start("bp-my-plugin", &key).await;
    let tmpl = gw.url_template();
    let port = port.to_string();
    let (mut child, addr) = start(plugin_server(&[
        ("MYSQL_HOST", &host),
        ("MYSQL_PORT", &port),
        ("MYSQL_NAME", &database),
        ("MYSQL_USER", user),
        ("MYSQL_PASSWORD", password),
        ("BKPAAS_BK_PLUGIN_APIGW_NAME", "bp-my-plugin"),
        ("BK_API_URL_TMPL", &tmpl),
    ]));
    assert!(meta(&addr).await.contains("\"result\":true"));
    child.kill().unwrap();
    child.wait().unwrap();
    let store = bk_plugin_store::MySqlStore::connect(&url).await.unwrap();
    assert_eq!(
        store
            .get_setting("apigw.public_key:bp-my-plugin")
            .await
            .unwrap(),
        Some(key),
        "the key is in the add-on's database"
    );
}
