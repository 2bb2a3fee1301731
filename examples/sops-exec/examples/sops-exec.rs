//! The plugin server of this crate: `cargo run --example sops-exec`.
//!
//! Serves versions 1.0.0 to 1.3.0 (and the deprecated 0.9.0) with the Python framework's HTTP protocol on
//! `127.0.0.1:8000` (or `0.0.0.0:$PORT`), schedules in the SQLite file `bk_plugin.db`, plus a
//! form data-source API (`plugin_api/task_list/{biz_id}`) and a form upload
//! (`plugin_api/import`) the way SOPS forms call them, and the task list for other apps
//! (`openapi/task_list/{biz_id}`, app verified by the gateway).

use std::process::ExitCode;

use bk_plugin_kit::http::Caller;
use bk_plugin_kit::http::axum::extract::multipart::MultipartError;
use bk_plugin_kit::http::axum::extract::{Extension, Multipart, Path};
use bk_plugin_kit::http::axum::http::StatusCode;
use bk_plugin_kit::http::axum::routing::{get, post};
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

/// `POST plugin_api/import`: a form upload (through `plugin_api_dispatch`); the lines of each
/// uploaded file, and the form's other fields.
async fn import(mut form: Multipart) -> Result<Json<Value>, (StatusCode, String)> {
    let bad = |e: MultipartError| (e.status(), e.body_text());
    let (mut files, mut fields) = (Vec::new(), bk_plugin_kit::serde_json::Map::new());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(bad)?;
                let lines = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
                files.push(json!({"field": name, "file_name": file_name, "lines": lines}));
            }
            None => {
                fields.insert(name, field.text().await.map_err(bad)?.into());
            }
        }
    }
    Ok(Json(json!({"files": files, "fields": fields})))
}

fn main() -> ExitCode {
    bk_plugin_kit::run_with(|server| {
        server
            .plugin_api(
                Router::new()
                    .route("/task_list/{biz_id}", get(task_list))
                    .route("/import", post(import)),
            )
            .openapi(Router::new().route("/task_list/{biz_id}", get(task_list)))
    })
}
