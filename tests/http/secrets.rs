//! `Secret` inputs never reach disk or logs in plaintext (docs/engine.md, "Secrets"): a plugin
//! with secrets in its inputs (top level, nested, in a list) and its context, invoked through a
//! real socket, polls and finishes using them; then the SQLite files (database, WAL, shared
//! memory), every row of every table on PostgreSQL and MariaDB, and every log line (TRACE,
//! every target) are searched for the plaintexts: absent. `detail` offers password boxes,
//! `schedule` and the outputs show `**********`, and a wrong value is refused without
//! echoing it.

use std::io::Write;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bk_plugin_kit::http::{Config, Server};
use bk_plugin_kit::prelude::*;
use bk_plugin_kit::serde_json::{self, Value, json};
use bk_plugin_tests::server::{dev_config, serve};
use bk_plugin_tests::stores::{MYSQL, POSTGRES};
use bk_plugin_tests::support::temp_dir;
use sqlx::Row;

const TOKEN: &str = "tok-PLAINTEXT-7f3a";
const PASSWORD: &str = "pw-PLAINTEXT-91c2";
const KEY: &str = "key-PLAINTEXT-55d0";
const API_KEY: &str = "api-PLAINTEXT-0be4";
const PLAINTEXTS: [&str; 4] = [TOKEN, PASSWORD, KEY, API_KEY];

#[derive(Inputs)]
pub struct Login {
    pub user: String,
    pub password: Secret,
}

#[derive(Inputs)]
pub struct Deploy {
    /// The API token (a password box in SOPS).
    pub token: Secret,
    pub login: Login,
    #[field(default)]
    pub keys: Vec<Secret>,
}

#[derive(ContextInputs)]
pub struct Ctx {
    pub api_key: Secret,
}

#[derive(Outputs)]
pub struct Checked {
    /// Whether each secret arrived intact on the resumed step.
    pub all_intact: bool,
    /// A secret written as an output: shown masked.
    pub echoed: Secret,
}

/// Polls twice, then checks it was handed every secret intact.
#[plugin(version = "7.0.0")]
pub struct Deployer;

impl Plugin for Deployer {
    type Inputs = Deploy;
    type ContextInputs = Ctx;
    type Outputs = Checked;

    async fn execute(&self, inputs: Deploy, ctx: &mut Context<Self>) -> Result<(), PluginError> {
        tracing::debug!(token = ?inputs.token, "the plugin logs its inputs' Debug");
        if ctx.invoke_count() < 3 {
            ctx.wait_poll(Duration::from_millis(50));
            return Ok(());
        }
        let all_intact = inputs.token.expose_secret() == TOKEN
            && inputs.login.password.expose_secret() == PASSWORD
            && inputs.keys.iter().all(|k| k.expose_secret() == KEY)
            && ctx.data().api_key.expose_secret() == API_KEY;
        ctx.set_outputs(Checked {
            all_intact,
            echoed: inputs.token,
        })
    }
}

/// Every log line of the test process, at TRACE.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_absent(what: &str, text: &str) {
    for p in PLAINTEXTS {
        assert!(!text.contains(p), "{p} in plaintext in {what}");
    }
}

#[test]
fn secrets_never_reach_disk_or_logs_in_plaintext() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = temp_dir("secrets");
        let mut config = dev_config();
        config.database_url = format!("sqlite://{}", dir.join("plugin.db").display());
        run(config, "SQLite").await;
        // Every file SQLite keeps: the database, its WAL and shared memory.
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            assert_absent(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
        assert!(dir.join("plugin.db").exists());

        for server in [POSTGRES, MYSQL] {
            let Some(url) = server.fresh_url().await else {
                eprintln!("skipped: {} is unset", server.url_var);
                continue;
            };
            let mut config = dev_config();
            config.database_url = url.clone();
            run(config, server.name).await;
            assert_absent(server.name, &all_rows(&url).await);
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("the plugin logs its inputs' Debug"),
        "the capture works"
    );
    assert!(logs.contains("Secret(\"**********\")"), "Debug is masked");
    assert_absent("the log", &logs);
}

/// One invocation through a real socket, to SUCCESS, and what callers see on the way.
async fn run(config: Config, store: &str) {
    let base = serve(Server::new(config)).await;
    let http = reqwest::Client::new();
    let detail: Value = http
        .get(format!("{base}/bk_plugin/detail/7.0.0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["data"]["inputs"]["properties"]["token"],
        json!({"title": "Token", "description": "The API token (a password box in SOPS).",
               "type": "string", "writeOnly": true, "format": "password"}),
        "{store}"
    );
    let invoke = |inputs: Value| {
        let http = http.clone();
        let url = format!("{base}/bk_plugin/invoke/7.0.0");
        async move {
            let body = json!({"inputs": inputs, "context": {"api_key": API_KEY}});
            let r = http.post(url).json(&body).send().await.unwrap();
            let text = r.text().await.unwrap();
            assert_absent("an invoke answer", &text);
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    // A wrong value is refused with pydantic's text, which does not echo it.
    let refused =
        invoke(json!({"token": [TOKEN], "login": {"user": "u", "password": PASSWORD}})).await;
    assert_eq!(refused["data"]["state"], 5, "{store}: {refused}");
    assert!(
        refused["data"]["err"]
            .as_str()
            .unwrap()
            .contains("token\n  str type expected"),
        "{store}: {refused}"
    );
    let inputs = json!({
        "token": TOKEN,
        "login": {"user": "admin", "password": PASSWORD},
        "keys": [KEY, KEY],
    });
    let accepted = invoke(inputs).await;
    assert_eq!(accepted["data"]["state"], 2, "{store}: {accepted}");
    let trace = accepted["trace_id"].as_str().unwrap().to_owned();
    let schedule_url = format!("{base}/bk_plugin/schedule/{trace}");
    let mut answer = Value::Null;
    for _ in 0..200 {
        let text = http
            .get(&schedule_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_absent("a schedule answer", &text);
        answer = serde_json::from_str(&text).unwrap();
        if answer["data"]["state"] == 4 || answer["data"]["state"] == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer["data"]["state"], 4, "{store}: {answer}");
    assert_eq!(
        answer["data"]["outputs"],
        json!({"all_intact": true, "echoed": "**********"}),
        "{store}"
    );
    // The dev listing of stored invocations too.
    let listing = http
        .get(format!("{base}/bk_plugin/schedules/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_absent("the dev schedules listing", &listing);
}

/// Every row of every table of the database at `url`, as text.
async fn all_rows(url: &str) -> String {
    let mut out = String::new();
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(tables.iter().any(|t| t.contains("schedule")), "{tables:?}");
        for t in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM \"{t}\" t"))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            out.push_str(&rows.join("\n"));
        }
    } else {
        let pool = sqlx::MySqlPool::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(tables.iter().any(|t| t.contains("schedule")), "{tables:?}");
        for t in tables {
            for row in sqlx::query(&format!("SELECT * FROM `{t}`"))
                .fetch_all(&pool)
                .await
                .unwrap()
            {
                for i in 0..row.len() {
                    if let Ok(Some(bytes)) = row.try_get_unchecked::<Option<Vec<u8>>, _>(i) {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                        out.push('\n');
                    }
                }
            }
        }
    }
    assert!(!out.is_empty());
    out
}
