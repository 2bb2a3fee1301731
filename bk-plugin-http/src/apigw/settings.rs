//! [`GatewaySettings`]: what the gateway sync reads from the environment, with the meaning the
//! Python runtime gives each variable (`bk_plugin_runtime/config/{default,stag,prod}.py` and
//! apigw-manager's `get_configuration`).

use reqwest::Url;

/// The gateway sync's settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GatewaySettings {
    /// `BKPAAS_BK_PLUGIN_APIGW_NAME`: the gateway BK PaaS created and bound to the plugin.
    pub(crate) gateway: String,
    /// The management API base, `.../prod` (see [`management_base`]).
    pub(crate) base: String,
    /// `BKPAAS_APP_ID` (or `BKPAAS_APP_CODE`).
    pub(crate) app_code: String,
    /// `BKPAAS_APP_SECRET` (or `BK_APP_SECRET`).
    pub(crate) app_secret: String,
    /// `X-Bk-Tenant-Id`: `BKPAAS_APP_TENANT_ID`, `system` when empty (apigw-manager).
    pub(crate) tenant: String,
    /// `BK_APIGW_MAINTAINERS`, comma-separated (default `admin`).
    pub(crate) maintainers: Vec<String>,
    /// `BK_APIGW_IS_PUBLIC` (default true).
    pub(crate) is_public: bool,
    /// `BK_APIGW_IS_OFFICIAL=true` gives 1 (an official gateway, named `bk-...`), else 10.
    pub(crate) api_type: u8,
    /// `BK_APIGW_DEFAULT_TIMEOUT`: the stage backend's timeout in seconds (default 60).
    pub(crate) timeout: u64,
    /// The stage released to: `stag` when `BKPAAS_ENVIRONMENT=stag`, `prod` when `prod`
    /// (the runtime's stag.py / prod.py), else `BK_APIGW_STAGE_NAME` (default `prod`).
    pub(crate) stage: String,
    /// `BK_APIGW_RELEASE_VERSION` (default `1.0.0`) + `+` + `BK_APIGW_STAGE_NAME` (default
    /// stag in stag, else prod), as default.py builds it.
    pub(crate) release_version: String,
    /// `BK_APIGW_RELEASE_TITLE`.
    pub(crate) release_title: String,
    /// `BK_APIGW_RELEASE_COMMENT`: the comment of a new resource version.
    pub(crate) release_comment: String,
    /// `BK_APIGW_RELEASE_DOC_LANGUAGE` (`en` / `zh`), sent with the resources when set.
    pub(crate) doc_language: Option<String>,
    /// `scheme://host[:port]` of `BKPAAS_DEFAULT_PREALLOCATED_URLS[BKPAAS_ENVIRONMENT]`.
    pub(crate) backend_host: String,
    /// That URL's path without slashes (`prod--default--my-plugin`), if any: the stage var
    /// `api_sub_path` and the backend paths' prefix.
    pub(crate) sub_path: Option<String>,
    /// Granted the whole gateway: the app itself, then `BK_APIGW_GRANTED_APPS`.
    pub(crate) granted_apps: Vec<String>,
}

/// What the settings are read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// `apigw sync`: everything is required.
    Sync,
    /// `apigw definition`: the files need no gateway name, management URL or secret.
    Definition,
}

/// Why the sync cannot start.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub(crate) struct SettingsError(pub(crate) String);

/// The gateway management API's base URL, as apigw-manager computes it:
/// `BK_APIGATEWAY_API_STAGE_URL`, else the URL template (`BK_APIGW_MANAGER_URL_TMPL`,
/// `BK_APIGW_MANAGER_URL_TEMPL` or `BK_API_URL_TMPL`) for the gateway `bk-apigateway` plus
/// `/prod`; no trailing slash.
pub(crate) fn management_base(get: &impl Fn(&str) -> Option<String>) -> Option<String> {
    let host = match get("BK_APIGATEWAY_API_STAGE_URL") {
        Some(url) => url,
        None => {
            let tmpl = url_template(get)?;
            let api = tmpl
                .replace("{api_name}", "bk-apigateway")
                .replace("{gateway_name}", "bk-apigateway");
            format!("{}/prod/", api.trim_end_matches('/'))
        }
    };
    Some(host.trim_end_matches('/').to_owned())
}

/// The gateway URL template, first one set of `BK_APIGW_MANAGER_URL_TMPL`,
/// `BK_APIGW_MANAGER_URL_TEMPL`, `BK_API_URL_TMPL`.
pub(crate) fn url_template(get: &impl Fn(&str) -> Option<String>) -> Option<String> {
    get("BK_APIGW_MANAGER_URL_TMPL")
        .or_else(|| get("BK_APIGW_MANAGER_URL_TEMPL"))
        .or_else(|| get("BK_API_URL_TMPL"))
}

/// The app's address in `environment` from `BKPAAS_DEFAULT_PREALLOCATED_URLS`
/// (`{"stag": url, "prod": url}`), split into `scheme://netloc` and the path without slashes.
pub(crate) fn preallocated(
    get: &impl Fn(&str) -> Option<String>,
    environment: &str,
) -> Result<Option<(String, Option<String>)>, SettingsError> {
    let Some(raw) = get("BKPAAS_DEFAULT_PREALLOCATED_URLS") else {
        return Ok(None);
    };
    let bad = |reason: String| {
        SettingsError(format!(
            "BKPAAS_DEFAULT_PREALLOCATED_URLS ({raw}): {reason}"
        ))
    };
    let urls: serde_json::Value =
        serde_json::from_str(&raw).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(url) = urls
        .get(environment)
        .and_then(|u| u.as_str())
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    let url = Url::parse(url).map_err(|e| bad(format!("{url}: {e}")))?;
    let mut host = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let path = url.path().trim_matches('/');
    Ok(Some((host, (!path.is_empty()).then(|| path.to_owned()))))
}

fn csv(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// YAML 1.1's true (the runtime renders the lower-cased value into definition.yaml, which
/// PyYAML then reads): `true`, `yes`, `on`, `y`, or a non-zero number.
fn yaml_true(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    matches!(v.as_str(), "true" | "yes" | "on" | "y") || v.parse::<i64>().is_ok_and(|n| n != 0)
}

impl GatewaySettings {
    /// Reads the settings through `get`; `environment` is `BKPAAS_ENVIRONMENT`.
    pub(crate) fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        environment: &str,
        purpose: Purpose,
    ) -> Result<GatewaySettings, SettingsError> {
        // Required for a sync; empty in a definition.
        let need = |value: Option<String>, what: &str| match (value, purpose) {
            (Some(v), _) => Ok(v),
            (None, Purpose::Definition) => Ok(String::new()),
            (None, Purpose::Sync) => Err(SettingsError(what.to_owned())),
        };
        let gateway = need(
            get("BKPAAS_BK_PLUGIN_APIGW_NAME"),
            "BKPAAS_BK_PLUGIN_APIGW_NAME is not set: BK PaaS sets it once the plugin's API gateway is created (a bk-plugin app gets one); set it to the gateway's name",
        )?;
        let base = need(
            management_base(&get),
            "no gateway management URL: set BK_API_URL_TMPL (BK PaaS sets it), BK_APIGW_MANAGER_URL_TMPL or BK_APIGATEWAY_API_STAGE_URL",
        )?;
        let app_code = get("BKPAAS_APP_ID")
            .or_else(|| get("BKPAAS_APP_CODE"))
            .ok_or_else(|| SettingsError("BKPAAS_APP_ID is not set (BK PaaS sets it)".into()))?;
        let app_secret = need(
            get("BKPAAS_APP_SECRET").or_else(|| get("BK_APP_SECRET")),
            "BKPAAS_APP_SECRET is not set (BK PaaS sets it)",
        )?;
        let (backend_host, sub_path) = preallocated(&get, environment)?.ok_or_else(|| {
            SettingsError(format!(
                "BKPAAS_DEFAULT_PREALLOCATED_URLS has no address for BKPAAS_ENVIRONMENT={environment}: the stage backend's host comes from it (BK PaaS sets it)"
            ))
        })?;
        let env_stage = if environment == "stag" {
            "stag"
        } else {
            "prod"
        };
        let stage_name = get("BK_APIGW_STAGE_NAME").unwrap_or_else(|| env_stage.to_owned());
        let stage = match environment {
            "stag" | "prod" => environment.to_owned(),
            _ => stage_name.clone(),
        };
        let timeout = match get("BK_APIGW_DEFAULT_TIMEOUT") {
            Some(t) => t.trim().parse().map_err(|e| {
                SettingsError(format!("BK_APIGW_DEFAULT_TIMEOUT={t}: not a number: {e}"))
            })?,
            None => 60,
        };
        let mut maintainers = csv(get("BK_APIGW_MAINTAINERS"));
        if maintainers.is_empty() {
            maintainers.push("admin".into());
        }
        let mut granted_apps = vec![app_code.clone()];
        granted_apps.extend(csv(get("BK_APIGW_GRANTED_APPS")));
        Ok(GatewaySettings {
            tenant: get("BKPAAS_APP_TENANT_ID").unwrap_or_else(|| "system".into()),
            maintainers,
            is_public: get("BK_APIGW_IS_PUBLIC").is_none_or(|v| yaml_true(&v)),
            api_type: if get("BK_APIGW_IS_OFFICIAL").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                1
            } else {
                10
            },
            timeout,
            release_version: format!(
                "{}+{stage_name}",
                get("BK_APIGW_RELEASE_VERSION").unwrap_or_else(|| "1.0.0".into())
            ),
            release_title: get("BK_APIGW_RELEASE_TITLE")
                .unwrap_or_else(|| format!("gateway release(stage={stage_name})")),
            release_comment: get("BK_APIGW_RELEASE_COMMENT").unwrap_or_else(|| {
                format!("auto release by bk-apigw-plugin-runtime(stage={stage_name})")
            }),
            doc_language: get("BK_APIGW_RELEASE_DOC_LANGUAGE"),
            gateway,
            base,
            app_code,
            app_secret,
            stage,
            backend_host,
            sub_path,
            granted_apps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_env::lookup;

    const BASE: &[(&str, &str)] = &[
        ("BKPAAS_BK_PLUGIN_APIGW_NAME", "bp-my-plugin"),
        (
            "BK_API_URL_TMPL",
            "http://bkapi.example.com/api/{api_name}/",
        ),
        ("BKPAAS_APP_ID", "my-plugin"),
        ("BKPAAS_APP_SECRET", "s"),
        (
            "BKPAAS_DEFAULT_PREALLOCATED_URLS",
            r#"{"stag": "http://apps.example.com/stag--default--my-plugin/", "prod": "https://apps.example.com:8443/"}"#,
        ),
    ];

    #[test]
    fn reads_the_python_runtimes_variables() {
        let s = GatewaySettings::from_lookup(lookup(BASE), "stag", Purpose::Sync).unwrap();
        assert_eq!(s.base, "http://bkapi.example.com/api/bk-apigateway/prod");
        assert_eq!(s.stage, "stag");
        assert_eq!(s.release_version, "1.0.0+stag");
        assert_eq!(s.backend_host, "http://apps.example.com");
        assert_eq!(s.sub_path.as_deref(), Some("stag--default--my-plugin"));
        assert_eq!(s.maintainers, ["admin"]);
        assert_eq!(s.granted_apps, ["my-plugin"]);
        assert_eq!((s.is_public, s.api_type, s.timeout), (true, 10, 60));
        assert_eq!(s.tenant, "system");

        let s = GatewaySettings::from_lookup(lookup(BASE), "prod", Purpose::Sync).unwrap();
        assert_eq!(
            (s.backend_host.as_str(), s.sub_path),
            ("https://apps.example.com:8443", None)
        );
        assert_eq!(s.release_version, "1.0.0+prod");

        let mut vars = BASE.to_vec();
        vars.extend([
            ("BK_APIGATEWAY_API_STAGE_URL", "http://gw.local/prod/"),
            ("BK_APIGW_GRANTED_APPS", "bksops, other ,"),
            ("BK_APIGW_MAINTAINERS", "a,b"),
            ("BK_APIGW_IS_PUBLIC", "False"),
            ("BK_APIGW_IS_OFFICIAL", "true"),
            ("BK_APIGW_STAGE_NAME", "blue"),
            ("BK_APIGW_RELEASE_VERSION", "2.1.0"),
            ("BK_APIGW_DEFAULT_TIMEOUT", "30"),
        ]);
        let s = GatewaySettings::from_lookup(lookup(&vars), "prod", Purpose::Sync).unwrap();
        assert_eq!(s.base, "http://gw.local/prod");
        assert_eq!(s.granted_apps, ["my-plugin", "bksops", "other"]);
        assert_eq!(s.maintainers, ["a", "b"]);
        assert_eq!((s.is_public, s.api_type, s.timeout), (false, 1, 30));
        // prod.py forces the stage; the version suffix keeps the variable (default.py).
        assert_eq!(
            (s.stage.as_str(), s.release_version.as_str()),
            ("prod", "2.1.0+blue")
        );
    }

    #[test]
    fn says_what_is_missing() {
        let vars: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "BK_API_URL_TMPL")
            .collect();
        let e = GatewaySettings::from_lookup(lookup(&vars), "prod", Purpose::Sync).unwrap_err();
        assert!(e.0.contains("BK_API_URL_TMPL"), "{e}");
        let s = GatewaySettings::from_lookup(lookup(&vars), "prod", Purpose::Definition).unwrap();
        assert_eq!(s.base, "");
        let e = GatewaySettings::from_lookup(lookup(BASE), "dev", Purpose::Sync).unwrap_err();
        assert!(
            e.0.contains(
                "BKPAAS_DEFAULT_PREALLOCATED_URLS has no address for BKPAAS_ENVIRONMENT=dev"
            ),
            "{e}"
        );
    }
}
