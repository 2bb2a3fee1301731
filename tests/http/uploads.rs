//! SOPS's form uploads through `plugin_api_dispatch`, over a real socket: the multipart body is
//! built and sent by python-requests exactly as bk-sops' `dispatch_plugin_api_request` builds
//! it (`sops_upload.py`); the `plugin_api` handler reads the files with axum's `Multipart`.
//! Also the upload limit (413), malformed bodies (400) and missing parameters (400, as JSON).
//!
//! Needs a Python with `requests`: `$BK_PLUGIN_PYTHON` (CI's deploy venv has it), else
//! `python3`.

use std::process::{Command, Stdio};

use bk_plugin_kit::http::axum::extract::{Extension, Multipart, RawQuery};
use bk_plugin_kit::http::axum::routing::any;
use bk_plugin_kit::http::axum::{Json, Router};
use bk_plugin_kit::http::{Caller, Config, Server};
use bk_plugin_kit::serde_json::{self, Value, json};

use bk_plugin_tests::jwt::{Keys, jwt, keys, now};
use bk_plugin_tests::server::{serve, temp_sqlite_url};

const PYTHON_NEEDED: &str = "these tests need a Python with `requests`: set BK_PLUGIN_PYTHON (CI uses its deploy venv, tests/deploy/requirements.txt) or install requests for python3";

/// What the handler received: the query, the caller, every text field and every file.
async fn import(
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
    mut form: Multipart,
) -> Json<Value> {
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.unwrap() {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            None => fields.push(json!([name, field.text().await.unwrap()])),
            Some(file_name) => {
                let content_type = field.content_type().map(str::to_owned);
                let bytes = field.bytes().await.unwrap();
                files.push(json!({
                    "field": name, "file_name": file_name, "content_type": content_type,
                    "size": bytes.len(), "fnv": fnv(&bytes),
                }));
            }
        }
    }
    Json(json!({
        "user": caller.username, "user_verified": caller.user_verified,
        "query": query, "fields": fields, "files": files,
    }))
}

/// FNV-1a, to compare contents without echoing megabytes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn prod(keys: &Keys) -> Config {
    let mut c = Config::default();
    c.app_secret = Some("s".into());
    c.app_code = Some("my-plugin".into());
    c.apigw_public_key = Some(keys.public_pem.clone());
    c.database_url = temp_sqlite_url();
    c
}

async fn start(config: Config) -> String {
    serve(Server::new(config).plugin_api(Router::new().route("/import", any(import)))).await
}

fn python() -> String {
    let python = std::env::var("BK_PLUGIN_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import requests"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{PYTHON_NEEDED} ({python} cannot import it)");
    python
}

/// Uploads `files` (field, file name, content) with `params` through `sops_upload.py`:
/// `(status, body as JSON)`.
async fn sops_upload(
    base: &str,
    jwt: &str,
    params: Value,
    files: &[(&str, &str, Vec<u8>)],
) -> (u16, Value) {
    let files: serde_json::Map<String, Value> = files
        .iter()
        .map(|(field, name, content)| {
            (
                (*field).to_owned(),
                json!({"name": name, "hex": hex(content)}),
            )
        })
        .collect();
    let spec = json!({
        "url": format!("{base}/bk_plugin/plugin_api_dispatch/"),
        "headers": {"X-Bkapi-JWT": jwt, "BK-PLUGIN-TRACE": "t1"},
        "params": params, "files": files,
    });
    let python = python();
    let out = tokio::task::spawn_blocking(move || {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/http/sops_upload.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "sops_upload.py failed");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let body = answer["body"].as_str().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (answer["status"].as_u64().unwrap() as u16, body)
}

fn token(keys: &Keys) -> String {
    jwt(keys, "bk_sops", "admin", now() + 3600)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_dumped_data_reach_the_plugin_api_handler() {
    let keys = keys();
    let base = start(prod(&keys)).await;
    let csv = b"a,b\r\n1,2\r\n".to_vec();
    // Every byte value, and lines that look like multipart boundaries.
    let mut logo: Vec<u8> = (0..=255u8).collect();
    logo.extend_from_slice(b"\r\n--bk-plugin-\r\n--\r\n");
    let params = json!({
        "method": "POST", "url": "/bk_plugin/plugin_api/import?src=form", "username": "admin",
        "data": {"biz": "7", "note": "中文 \"quoted\"", "count": 3},
    });
    let (status, body) = sops_upload(
        &base,
        &token(&keys),
        params,
        &[
            ("sheet", "data.csv", csv.clone()),
            ("logo", "logo 图.png", logo.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], true, "{body}");
    assert_eq!(body["message"], "success");
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 32);
    let data = &body["data"];
    assert_eq!(data["user"], "admin");
    assert_eq!(data["user_verified"], true);
    // A POST keeps the url's query; the other parameters are text fields (a number as its
    // JSON text), the files keep their field, name and content (python-requests sends no
    // content type).
    assert_eq!(data["query"], "src=form");
    assert_eq!(
        data["fields"],
        json!([["biz", "7"], ["note", "中文 \"quoted\""], ["count", "3"]])
    );
    assert_eq!(
        data["files"],
        json!([
            {"field": "sheet", "file_name": "data.csv", "content_type": null,
             "size": csv.len(), "fnv": fnv(&csv)},
            {"field": "logo", "file_name": "logo 图.png", "content_type": null,
             "size": logo.len(), "fnv": fnv(&logo)},
        ])
    );

    // A GET upload: data in the query (as the Python view's GET request), files in the body.
    let params = json!({
        "method": "get", "url": "/bk_plugin/plugin_api/import", "username": "someone",
        "data": {"biz": "8"},
    });
    let (status, body) = sops_upload(
        &base,
        &token(&keys),
        params,
        &[("sheet", "s.csv", csv.clone())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["query"], "biz=8");
    assert_eq!(data["fields"], json!([]));
    assert_eq!(data["files"][0]["fnv"], fnv(&csv));
    // Another name than the verified one is not verified.
    assert_eq!(
        (&data["user"], &data["user_verified"]),
        (&json!("someone"), &json!(false))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_have_their_own_limit_and_reach_handlers_past_axums_default() {
    let keys = keys();
    let mut config = prod(&keys);
    // JSON bodies are limited to 16 KiB; uploads to 4 MiB.
    config.body_limit = 16 * 1024;
    config.upload_limit = 4 * 1024 * 1024;
    let base = start(config).await;
    let params =
        || json!({"method": "POST", "url": "/bk_plugin/plugin_api/import", "username": "admin"});

    // 3 MiB: over the JSON limit and axum's 2 MB default for `Multipart`, within the upload
    // limit.
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let (status, body) = sops_upload(
        &base,
        &token(&keys),
        params(),
        &[("f", "big.bin", big.clone())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["files"][0]["size"], big.len());
    assert_eq!(body["data"]["files"][0]["fnv"], fnv(&big));

    // Over the upload limit: 413 in the dispatch envelope.
    let huge = vec![7u8; 4 * 1024 * 1024 + 1];
    let (status, body) =
        sops_upload(&base, &token(&keys), params(), &[("f", "huge.bin", huge)]).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["result"], false);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(
        body["message"],
        format!("request body is larger than {} bytes", 4 * 1024 * 1024)
    );
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 32);
}

/// A raw dispatch POST: `(status, body as JSON)`.
async fn raw_dispatch(base: &str, jwt: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/bk_plugin/plugin_api_dispatch/"))
        .header("X-Bkapi-JWT", jwt)
        .header("Content-Type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_uploads_and_missing_parameters_are_400() {
    let keys = keys();
    let base = start(prod(&keys)).await;
    let jwt = token(&keys);
    let part = "--B\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n/bk_plugin/plugin_api/import\r\n";
    for (content_type, body) in [
        // No boundary.
        ("multipart/form-data", format!("{part}--B--\r\n")),
        // Cut off before the closing boundary.
        (
            "multipart/form-data; boundary=B",
            part[..part.len() - 10].to_owned(),
        ),
        // Not multipart at all.
        ("multipart/form-data; boundary=B", "{\"url\": 1}".to_owned()),
        // A part without its blank line.
        (
            "multipart/form-data; boundary=B",
            "--B\r\nContent-Disposition: form-data; name=\"url\"\r\n".to_owned(),
        ),
    ] {
        let (status, v) = raw_dispatch(&base, &jwt, content_type, body.as_bytes()).await;
        assert_eq!(status, 400, "{content_type} {body:?}: {v}");
        assert_eq!(v["result"], false);
        assert_eq!(v["data"], Value::Null);
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.starts_with("输入不合法: multipart form parse error - "),
            "{msg}"
        );
        assert_eq!(v["trace_id"].as_str().unwrap().len(), 32);
    }

    // Missing or invalid parameters: the same 400s as a JSON request gives.
    let file = [("f", "a.txt", b"x".to_vec())];
    for (params, message) in [
        (
            json!({"method": "POST", "username": "admin"}),
            "输入不合法: url must start with /bk_plugin/plugin_api/",
        ),
        (
            json!({"method": "POST", "url": "/elsewhere/", "username": "admin"}),
            "输入不合法: url must start with /bk_plugin/plugin_api/",
        ),
        (
            json!({"url": "/bk_plugin/plugin_api/import", "username": "admin"}),
            "输入不合法: method must be GET or POST",
        ),
        (
            json!({"method": "PUT", "url": "/bk_plugin/plugin_api/import", "username": "admin"}),
            "输入不合法: method must be GET or POST",
        ),
        (
            json!({"method": "POST", "url": "/bk_plugin/plugin_api/import"}),
            "输入不合法: username is required",
        ),
    ] {
        let (status, body) = sops_upload(&base, &jwt, params.clone(), &file).await;
        assert_eq!(
            (status, &body["message"]),
            (400, &json!(message)),
            "{params}"
        );
        assert_eq!(body["result"], false);
        let mut json_request = params.clone();
        json_request["data"] = json!({});
        let (status, v) = raw_dispatch(
            &base,
            &jwt,
            "application/json",
            json_request.to_string().as_bytes(),
        )
        .await;
        assert_eq!(
            (status, &v["message"]),
            (400, &json!(message)),
            "{params} as JSON"
        );
    }

    // An unknown route inside plugin_api: the dispatch 404, as for JSON.
    let params = json!({"method": "POST", "url": "/bk_plugin/plugin_api/nothing", "username": "u"});
    let (status, body) = sops_upload(&base, &jwt, params, &file).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "404 error: /bk_plugin/plugin_api/nothing");
}
