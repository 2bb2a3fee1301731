//! The plugin server of this crate: `cargo run --example sops-exec`.
//!
//! Serves versions 1.0.0 and 1.1.0 with the Python framework's HTTP protocol on
//! `127.0.0.1:8000` (or `0.0.0.0:$PORT`), schedules in the SQLite file `bk_plugin.db`, plus one
//! form data-source API (`plugin_api/task_list/{biz_id}`) the way SOPS forms call them.

use std::process::ExitCode;

use bk_plugin_kit::http::Caller;
use bk_plugin_kit::http::axum::extract::{Extension, Path};
use bk_plugin_kit::http::axum::routing::get;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::serde_json::{Value, json};

// Link the plugin library so its `#[plugin]` registrations are in this binary.
use sops_exec as _;

/// `GET plugin_api/task_list/{biz_id}`: `[{text, value}]` options for a select field.
async fn task_list(Path(biz_id): Path<i64>, Extension(caller): Extension<Caller>) -> Json<Value> {
    let user = caller.username.unwrap_or_else(|| "anonymous".into());
    Json(json!([
        {"text": format!("deploy (biz {biz_id}, for {user})"), "value": 1},
        {"text": format!("rollback (biz {biz_id}, for {user})"), "value": 2},
    ]))
}

fn main() -> ExitCode {
    bk_plugin_kit::run_with(|server| {
        server.plugin_api(Router::new().route("/task_list/{biz_id}", get(task_list)))
    })
}
