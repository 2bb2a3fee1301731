//! The schedule store's URL from BK PaaS's MySQL add-on: with no `DATABASE_URL`, the add-on's
//! variables (`GCS_MYSQL_*` first, as apigw-manager and blueapps prefer, then `MYSQL_*`) give
//! a `mysql://` URL; outside dev with neither, the server refuses to start.

use crate::config::ConfigError;

/// Percent-escapes everything but RFC 3986's unreserved characters, so a password or user
/// with `@`, `:`, `/`, `%`, … stays one URL component.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `mysql://` URL of the add-on whose variables start with `prefix` (`GCS_MYSQL` or
/// `MYSQL`), if its host is set. TLS: `{prefix}_CA` (a mounted file) verifies the server's
/// certificate and name, `{prefix}_CERT` / `{prefix}_CERT_KEY` add a client certificate, and
/// `{prefix}_INSECURE_SKIP_VERIFY=true` keeps TLS without verifying the server.
fn addon_url(
    get: &impl Fn(&str) -> Option<String>,
    prefix: &str,
) -> Option<Result<String, ConfigError>> {
    let var = |key: &str| get(&format!("{prefix}_{key}"));
    let host = var("HOST")?;
    let missing = |key: &'static str| ConfigError::Invalid {
        name: "MYSQL add-on",
        reason: format!("{prefix}_HOST is set but {prefix}_{key} is not"),
    };
    let result = (|| {
        let name = var("NAME").ok_or_else(|| missing("NAME"))?;
        let user = var("USER").ok_or_else(|| missing("USER"))?;
        let port = var("PORT").unwrap_or_else(|| "3306".into());
        port.parse::<u16>().map_err(|e| ConfigError::Invalid {
            name: "MYSQL add-on",
            reason: format!("{prefix}_PORT={port}: {e}"),
        })?;
        let password = var("PASSWORD").map_or_else(String::new, |p| format!(":{}", escape(&p)));
        let mut url = format!(
            "mysql://{}{password}@{host}:{port}/{}",
            escape(&user),
            escape(&name)
        );
        let mut params = Vec::new();
        let skip_verify =
            var("INSECURE_SKIP_VERIFY").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if let Some(ca) = var("CA") {
            params.push(format!("ssl-ca={}", escape(&ca)));
        }
        if let Some(cert) = var("CERT") {
            params.push(format!("ssl-cert={}", escape(&cert)));
        }
        if let Some(key) = var("CERT_KEY") {
            params.push(format!("ssl-key={}", escape(&key)));
        }
        if skip_verify {
            params.insert(0, "ssl-mode=REQUIRED".into());
        } else if !params.is_empty() {
            params.insert(0, "ssl-mode=VERIFY_IDENTITY".into());
        }
        if !params.is_empty() {
            url.push('?');
            url.push_str(&params.join("&"));
        }
        Ok(url)
    })();
    Some(result)
}

/// The store URL when `DATABASE_URL` / `BK_PLUGIN_DATABASE_URL` is unset: the MySQL add-on's,
/// else `None` (SQLite in dev; the caller refuses to start elsewhere).
pub(crate) fn from_addon(
    get: &impl Fn(&str) -> Option<String>,
) -> Option<Result<String, ConfigError>> {
    addon_url(get, "GCS_MYSQL").or_else(|| addon_url(get, "MYSQL"))
}

/// The refusal outside dev with no store configured.
pub(crate) const NO_STORE: &str = "no schedule store is configured: enable the MySQL add-on of the app on BK PaaS (app_desc.yaml `addons: [{name: mysql}]`; the plugin reads MYSQL_HOST, MYSQL_PORT, MYSQL_NAME, MYSQL_USER, MYSQL_PASSWORD), or set DATABASE_URL (mysql://, postgres://, or sqlite:///path on a mounted persistent volume); a SQLite file inside the container loses every waiting invocation at the next deploy";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_env::lookup;

    #[test]
    fn builds_the_url_with_the_password_escaped() {
        let get = lookup(&[
            ("MYSQL_HOST", "db.example"),
            ("MYSQL_PORT", "3307"),
            ("MYSQL_NAME", "my_plugin"),
            ("MYSQL_USER", "u"),
            ("MYSQL_PASSWORD", "p@ss:w/rd%"),
        ]);
        assert_eq!(
            from_addon(&get).unwrap().unwrap(),
            "mysql://u:p%40ss%3Aw%2Frd%25@db.example:3307/my_plugin"
        );
    }

    #[test]
    fn prefers_gcs_mysql_and_maps_tls() {
        let get = lookup(&[
            ("MYSQL_HOST", "plain"),
            ("MYSQL_NAME", "n"),
            ("MYSQL_USER", "u"),
            ("GCS_MYSQL_HOST", "gcs"),
            ("GCS_MYSQL_NAME", "n"),
            ("GCS_MYSQL_USER", "u"),
            ("GCS_MYSQL_CA", "/tls/ca.pem"),
        ]);
        assert_eq!(
            from_addon(&get).unwrap().unwrap(),
            "mysql://u@gcs:3306/n?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Ftls%2Fca.pem"
        );
        let get = lookup(&[
            ("MYSQL_HOST", "h"),
            ("MYSQL_NAME", "n"),
            ("MYSQL_USER", "u"),
            ("MYSQL_INSECURE_SKIP_VERIFY", "true"),
        ]);
        assert_eq!(
            from_addon(&get).unwrap().unwrap(),
            "mysql://u@h:3306/n?ssl-mode=REQUIRED"
        );
        assert!(from_addon(&lookup(&[])).is_none());
        let e = from_addon(&lookup(&[("MYSQL_HOST", "h")]))
            .unwrap()
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("MYSQL_HOST is set but MYSQL_NAME is not"),
            "{e}"
        );
    }
}
