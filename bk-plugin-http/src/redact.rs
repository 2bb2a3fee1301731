//! Secrets kept out of logs, error messages and `Debug` output.

/// `url` with the password of its user info replaced by `***`, and the values of
/// `password`-like query parameters too, for messages that end up in logs.
///
/// The user info ends at the **last** `@` before the query: a password containing `/`, `?`,
/// `#` or `@` unescaped (URL parsers disagree about such URLs) is still hidden whole.
pub(crate) fn database_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let (head, query) = match url[scheme_end..].find('?') {
        // A `?` inside the password: the user info's `@` comes after it.
        Some(q) if !url[scheme_end + q..].contains('@') => url.split_at(scheme_end + q),
        _ => (url, ""),
    };
    let mut out = match head[scheme_end..].rfind('@') {
        Some(at) => {
            let user_info = &head[scheme_end..scheme_end + at];
            match user_info.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &head[..scheme_end],
                    &user_info[..colon],
                    &head[scheme_end + at..]
                ),
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(params) = query.strip_prefix('?') {
        let redacted: Vec<String> = params
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if is_secret_name(k) => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&redacted.join("&"));
    }
    out
}

/// Whether a parameter or JSON key names a secret: passwords, secrets, tokens, keys for
/// access, credentials, JWTs, authorization headers.
fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "pass"
        || k == "pwd"
        || k == "jwt"
        || [
            "password",
            "passwd",
            "secret",
            "token",
            "credential",
            "api_key",
            "apikey",
            "access_key",
            "private_key",
            "authorization",
        ]
        .iter()
        .any(|s| k.contains(s))
}

/// `value` with every value under a secret-looking key (at any depth) replaced by `***`, and
/// the user-info password and secret-looking query parameters of URL strings
/// ([`database_url`]'s rules: a finish-notification URL may carry a token).
pub(crate) fn secrets(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(k) && !v.is_null() {
                        Value::from("***")
                    } else {
                        secrets(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(secrets).collect()),
        // A sealed `Secret` input: not even its ciphertext.
        Value::String(s) if s.starts_with(bk_plugin_engine::SEALED_PREFIX) => {
            Value::from(bk_plugin_core::Secret::MASK)
        }
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            Value::String(database_url(s))
        }
        other => other.clone(),
    }
}

/// `***` for a set secret, `None` for an unset one (what `Debug` prints).
pub(crate) fn secret(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "***")
}

#[cfg(test)]
mod tests {
    use super::{database_url, secrets};

    #[test]
    fn secret_looking_keys_are_redacted_at_any_depth() {
        let v = serde_json::json!({
            "task_name": "deploy",
            "db_password": "hunter2",
            "auth": {"access_token": "t", "user": "admin", "API_KEY": 1},
            "steps": [{"secret": {"nested": true}}, {"plain": "x"}],
            "token": null,
            "url": "https://u:pw@sops.example/cb/?node=1&token=t0k",
        });
        assert_eq!(
            secrets(&v),
            serde_json::json!({
                "task_name": "deploy",
                "db_password": "***",
                "auth": {"access_token": "***", "user": "admin", "API_KEY": "***"},
                "steps": [{"secret": "***"}, {"plain": "x"}],
                "token": null,
                "url": "https://u:***@sops.example/cb/?node=1&token=***",
            })
        );
    }

    #[test]
    fn sealed_secret_inputs_show_as_the_mask_not_their_ciphertext() {
        let key = bk_plugin_engine::SecretKey::from_app_secret("s");
        let v = serde_json::json!({"login": {"user": "u", "pw": key.seal(&"x".into())}});
        assert_eq!(
            secrets(&v),
            serde_json::json!({"login": {"user": "u", "pw": "**********"}})
        );
    }

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        let cases = [
            (
                "mysql://bk:s3cr@t@db:3306/x?ssl-mode=required",
                "mysql://bk:***@db:3306/x?ssl-mode=required",
            ),
            ("mysql://bk:pa/ss@db:3306/x", "mysql://bk:***@db:3306/x"),
            (
                "mysql://bk:p?a#s/s@db/x?charset=utf8",
                "mysql://bk:***@db/x?charset=utf8",
            ),
            ("postgres://bk:p#w@db/x", "postgres://bk:***@db/x"),
            (
                "postgres://bk@db/x?password=hunter2&sslmode=require",
                "postgres://bk@db/x?password=***&sslmode=require",
            ),
            ("postgres://bk@db/x", "postgres://bk@db/x"),
            ("sqlite://a:b@c.db", "sqlite://a:***@c.db"),
            ("bk_plugin.db", "bk_plugin.db"),
        ];
        for (url, want) in cases {
            assert_eq!(database_url(url), want, "{url}");
        }
        for (url, _) in cases {
            for secret in ["s3cr@t", "pa/ss", "p?a#s/s", "p#w", "hunter2"] {
                assert!(!database_url(url).contains(secret), "{url}");
            }
        }
    }
}
