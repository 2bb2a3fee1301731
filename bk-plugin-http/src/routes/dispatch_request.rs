//! The parameters of a `plugin_api_dispatch` request (protocol.md §3.6), from its JSON body
//! or, when SOPS uploads files, from its `multipart/form-data` body: the same rules for both,
//! as the Python view's one serializer.

use axum::http::Method;
use serde_json::{Map, Value};

use crate::multipart::{File, Form};

/// The only URLs dispatch forwards to.
pub(crate) const PREFIX: &str = "/bk_plugin/plugin_api/";

const NOT_AN_OBJECT: &str = "body must be a JSON object";
const BAD_URL: &str = "url must start with /bk_plugin/plugin_api/";
const BAD_METHOD: &str = "method must be GET or POST";
const NO_USERNAME: &str = "username is required";
const BAD_DATA: &str = "data must be an object";
const BAD_DUMPED_DATA: &str = "dumped_data must be a JSON object string";

/// A valid dispatch request.
#[derive(Debug)]
pub(crate) struct DispatchRequest {
    /// Starts with [`PREFIX`].
    pub(crate) url: String,
    /// GET or POST.
    pub(crate) method: Method,
    pub(crate) username: String,
    /// `data` with `dumped_data` merged in.
    pub(crate) data: Map<String, Value>,
    /// The uploaded files (multipart bodies only).
    pub(crate) files: Vec<File>,
}

impl DispatchRequest {
    /// From a JSON body; the error says what is wrong (after `输入不合法: `).
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, &'static str> {
        let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(bytes) else {
            return Err(NOT_AN_OBJECT);
        };
        let data = match req.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(BAD_DATA),
        };
        let s = |k: &str| req.get(k).and_then(Value::as_str);
        Self::new(s, data, Vec::new())
    }

    /// From a multipart body: its text fields and its files. The form's `data` is not read
    /// (SOPS sends the parameters in `dumped_data`: a form cannot nest them).
    pub(crate) fn from_form(form: Form) -> Result<Self, &'static str> {
        let Form { fields, files } = form;
        let fields = Form {
            fields,
            files: Vec::new(),
        };
        Self::new(|k| fields.field(k), Map::new(), files)
    }

    fn new<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        mut data: Map<String, Value>,
        files: Vec<File>,
    ) -> Result<Self, &'static str> {
        let url = get("url")
            .filter(|u| u.starts_with(PREFIX))
            .ok_or(BAD_URL)?;
        let method = match get("method").map(str::to_ascii_uppercase).as_deref() {
            Some("GET") => Method::GET,
            Some("POST") => Method::POST,
            _ => return Err(BAD_METHOD),
        };
        let username = get("username").ok_or(NO_USERNAME)?;
        // An empty `dumped_data` is skipped, as the Python serializer's `if`.
        if let Some(dumped) = get("dumped_data").filter(|d| !d.is_empty()) {
            match serde_json::from_str::<Value>(dumped) {
                Ok(Value::Object(m)) => data.extend(m),
                _ => return Err(BAD_DUMPED_DATA),
            }
        }
        Ok(DispatchRequest {
            url: url.to_owned(),
            method,
            username: username.to_owned(),
            data,
            files,
        })
    }

    /// `data` as form fields (a POST upload's other parameters): a string as it is, any other
    /// value as its JSON text.
    pub(crate) fn data_fields(&self) -> Vec<(String, String)> {
        self.data
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Form {
        Form {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            files: Vec::new(),
        }
    }

    #[test]
    fn json_and_form_follow_the_same_rules() {
        let ok = [
            ("url", "/bk_plugin/plugin_api/x"),
            ("method", "post"),
            ("username", "admin"),
            ("dumped_data", r#"{"a": 1, "b": "two"}"#),
        ];
        let r = DispatchRequest::from_form(form(&ok)).unwrap();
        assert_eq!((r.method.as_str(), r.username.as_str()), ("POST", "admin"));
        assert_eq!(
            r.data_fields(),
            [("a".into(), "1".into()), ("b".into(), "two".into())]
        );
        for (drop, err) in [
            ("url", BAD_URL),
            ("method", BAD_METHOD),
            ("username", NO_USERNAME),
        ] {
            let fields: Vec<_> = ok.iter().copied().filter(|(k, _)| *k != drop).collect();
            assert_eq!(DispatchRequest::from_form(form(&fields)).unwrap_err(), err);
            let json: Map<String, Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect();
            let bytes = serde_json::to_vec(&json).unwrap();
            assert_eq!(DispatchRequest::from_json(&bytes).unwrap_err(), err);
        }
        let bad = [("dumped_data", "[1]"), ("url", "/bk_plugin/plugin_api/x")];
        let mut fields = ok.to_vec();
        fields.extend(bad);
        assert_eq!(
            DispatchRequest::from_form(form(&fields)).unwrap_err(),
            BAD_DUMPED_DATA
        );
        let mut fields = ok.to_vec();
        fields.push(("dumped_data", ""));
        assert!(
            DispatchRequest::from_form(form(&fields))
                .unwrap()
                .data
                .is_empty()
        );
    }
}
