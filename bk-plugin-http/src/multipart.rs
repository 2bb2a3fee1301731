//! `multipart/form-data` bodies: reading the one SOPS sends to `plugin_api_dispatch` when a
//! form uploads files, and writing the one the author's route then receives (read there with
//! axum's `Multipart`).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use bk_plugin_engine::new_id;

/// An uploaded file: its form field, file name, declared type and content.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub(crate) name: String,
    pub(crate) file_name: String,
    /// The part's `Content-Type`; `None` when the sender gave none (python-requests, as SOPS
    /// calls it, gives none).
    pub(crate) content_type: Option<String>,
    pub(crate) bytes: Bytes,
}

/// A parsed form: its text fields in order (a repeated name keeps every value) and its files.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub(crate) fields: Vec<(String, String)>,
    pub(crate) files: Vec<File>,
}

impl Form {
    /// The last value of the text field `name`, as Django's `QueryDict` reads a field.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether the request declares a `multipart/form-data` body (any case, parameters allowed).
pub(crate) fn is_form_data(headers: &HeaderMap) -> bool {
    content_type(headers)
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Parses a whole `multipart/form-data` body (its size already bounded). Parts without a
/// name, and file parts with an empty file name (a form's empty file input), are skipped, as
/// Django skips them. The error is multer's message: no boundary, a truncated body, a part
/// without headers, ...
pub(crate) async fn parse(headers: &HeaderMap, body: Bytes) -> Result<Form, String> {
    let boundary = multer::parse_boundary(content_type(headers)).map_err(|e| e.to_string())?;
    let mut parts = multer::Multipart::new(Body::from(body).into_data_stream(), boundary);
    let mut form = Form::default();
    while let Some(part) = parts.next_field().await.map_err(|e| e.to_string())? {
        let Some(name) = part.name().map(str::to_owned) else {
            continue;
        };
        let file_name = part.file_name().map(str::to_owned);
        let content_type = part.content_type().map(ToString::to_string);
        let bytes = part.bytes().await.map_err(|e| e.to_string())?;
        match file_name {
            None => form
                .fields
                .push((name, String::from_utf8_lossy(&bytes).into_owned())),
            Some(file_name) if file_name.is_empty() => {}
            Some(file_name) => form.files.push(File {
                name,
                file_name,
                content_type,
                bytes,
            }),
        }
    }
    Ok(form)
}

/// A `multipart/form-data` body of `fields` then `files`, with its `Content-Type` (a fresh
/// random boundary). Names are escaped as browsers escape them (HTML's form encoding): `"`,
/// CR and LF become `%22`, `%0D` and `%0A`.
pub(crate) fn encode(fields: &[(String, String)], files: &[File]) -> (String, Vec<u8>) {
    let boundary = format!("bk-plugin-{}", new_id());
    let mut body = Vec::new();
    let mut part = |disposition: String, content_type: Option<&str>, bytes: &[u8]| {
        let mut head = format!("--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n");
        if let Some(t) = content_type {
            head.push_str(&format!("Content-Type: {t}\r\n"));
        }
        head.push_str("\r\n");
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    };
    for (name, value) in fields {
        part(format!("name=\"{}\"", escape(name)), None, value.as_bytes());
    }
    for f in files {
        let disposition = format!(
            "name=\"{}\"; filename=\"{}\"",
            escape(&f.name),
            escape(&f.file_name)
        );
        part(disposition, f.content_type.as_deref(), &f.bytes);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn escape(name: &str) -> String {
    name.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[tokio::test]
    async fn what_is_encoded_parses_back() {
        let files = [File {
            name: "sheet".into(),
            file_name: "a\"b\r\n.csv".into(),
            content_type: Some("text/csv".into()),
            bytes: Bytes::from_static(b"x,y\r\n--not-a-boundary\r\n1,2"),
        }];
        let fields = [("k".to_owned(), "v1".to_owned()), ("k".into(), "v2".into())];
        let (content_type, body) = encode(&fields, &files);
        let form = parse(&headers(&content_type), body.into()).await.unwrap();
        assert_eq!(form.fields, fields);
        assert_eq!(form.field("k"), Some("v2"));
        assert_eq!(form.files.len(), 1);
        let f = &form.files[0];
        assert_eq!(
            (f.name.as_str(), f.file_name.as_str()),
            ("sheet", "a%22b%0D%0A.csv")
        );
        assert_eq!(f.content_type.as_deref(), Some("text/csv"));
        assert_eq!(&f.bytes[..], b"x,y\r\n--not-a-boundary\r\n1,2");
    }

    #[tokio::test]
    async fn malformed_bodies_are_errors() {
        let ok = headers("multipart/form-data; boundary=B");
        for (h, body) in [
            (headers("multipart/form-data"), &b"--B--\r\n"[..]),
            (
                ok.clone(),
                b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
            ),
            (ok.clone(), b"garbage"),
        ] {
            assert!(
                parse(&h, Bytes::copy_from_slice(body)).await.is_err(),
                "{body:?}"
            );
        }
    }

    #[test]
    fn form_data_is_recognised_by_its_essence() {
        assert!(is_form_data(&headers("Multipart/Form-Data; boundary=x")));
        assert!(!is_form_data(&headers("application/json")));
        assert!(!is_form_data(&HeaderMap::new()));
    }
}
