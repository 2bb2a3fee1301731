//! `apigw sync`: what the Python framework's `sync_apigateway_if_changed` does (with
//! apigw-manager's `sync_drf_apigateway`), against the management API directly.
//!
//! Steps (docs/deployment.md): gateway (1), stage (2), resources (3), grants (5), the latest
//! resource version (6), a new one when the version rule asks for it (7, 8), release (9),
//! public key (10). Step 4, the resource docs archive, has nothing to send: a kit plugin has
//! no docs directory. The whole sync is skipped when the definition is unchanged since the
//! last successful one; the public key is fetched and stored either way.

use serde_json::{Value, json};

use super::client::{GatewayError, Management};
use super::settings::GatewaySettings;
use bk_plugin_engine::store::{Store, StoreError};

use super::state::keys;
use super::{definition, digest, resources, yaml};

/// Why the sync failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// A management call failed.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The store could not be read or written.
    #[error("the store: {0}")]
    State(String),
}

fn state_error(e: StoreError) -> SyncError {
    SyncError::State(e.to_string())
}

/// What the sync did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Synced {
    /// Nothing changed since the last successful sync: only the key was fetched.
    Unchanged,
    /// Synced and released `version` to the stage.
    Released {
        /// The released resource version.
        version: String,
        /// Whether it was created by this sync.
        created: bool,
    },
}

/// The hash of everything the sync sends: resources, definition and the gateway's name, each
/// as sorted-key JSON (the Python command hashes each file's sorted YAML the same way).
pub(crate) fn definition_hash(s: &GatewaySettings) -> String {
    let r = digest(&resources::resources(s.sub_path.is_some()));
    let d = digest(&definition::definition(s));
    digest(&json!(format!("{r}:{d}:{}@{}", s.gateway, s.base)))
}

/// Runs the sync; `force` syncs even when nothing changed.
pub(crate) async fn sync(
    s: &GatewaySettings,
    state: &dyn Store,
    force: bool,
    log: &mut impl FnMut(String),
) -> Result<Synced, SyncError> {
    let api = Management::new(
        &s.base,
        &s.gateway,
        &s.app_code,
        &s.app_secret,
        &s.tenant,
        std::time::Duration::from_secs(60),
    )?;
    let hash = definition_hash(s);
    let last = state
        .get_setting(keys::SYNC_HASH)
        .await
        .map_err(state_error)?;
    if !force && last.as_deref() == Some(hash.as_str()) {
        log(format!(
            "definition unchanged since the last sync ({}…): skipping the sync",
            &hash[..16]
        ));
        fetch_key(&api, s, state, log).await?;
        return Ok(Synced::Unchanged);
    }
    log(format!("syncing gateway {} (stage {})", s.gateway, s.stage));
    api.post("", &definition::apigateway(s)).await?;
    log("gateway updated".into());
    api.post("stages/", &definition::stage(s)).await?;
    log(format!("stage {} updated", s.stage));

    let doc = resources::resources(s.sub_path.is_some());
    let mut body = json!({"content": yaml(&doc), "delete": true});
    if let Some(lang) = &s.doc_language {
        body["doc_language"] = lang.as_str().into();
    }
    let reply = api.post("resources/", &body).await?;
    let count = |k: &str| reply.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    let (added, updated, deleted) = (count("added"), count("updated"), count("deleted"));
    log(format!(
        "resources synced: added {added}, updated {updated}, deleted {deleted}"
    ));
    mark_signature(state, &digest(&doc), added + deleted > 0).await?;

    for grant in definition::grant_permissions(s) {
        let code = grant["bk_app_code"].clone();
        api.post(
            "permissions/grant/",
            &json!({"target_app_code": code, "grant_dimension": "gateway"}),
        )
        .await?;
        log(format!("granted the gateway to {code}"));
    }

    let released = release(&api, s, state, log).await?;
    fetch_key(&api, s, state, log).await?;
    state
        .put_setting(keys::SYNC_HASH, &hash)
        .await
        .map_err(state_error)?;
    log("sync completed".into());
    Ok(released)
}

/// apigw-manager's signature bookkeeping (`ResourceSignatureManager`): dirty when the
/// resources changed since the last sync or resources were added or deleted, until a version
/// is created.
async fn mark_signature(
    state: &dyn Store,
    signature: &str,
    added_or_deleted: bool,
) -> Result<(), SyncError> {
    let saved = signature_state(state).await?;
    let last = saved.get("signature").and_then(Value::as_str);
    let dirty = saved.get("is_dirty").and_then(Value::as_bool) == Some(true)
        || last != Some(signature)
        || added_or_deleted;
    let value = json!({"is_dirty": dirty, "signature": signature}).to_string();
    state
        .put_setting(keys::RESOURCE_SIGNATURE, &value)
        .await
        .map_err(state_error)
}

async fn signature_state(state: &dyn Store) -> Result<Value, SyncError> {
    let raw = state
        .get_setting(keys::RESOURCE_SIGNATURE)
        .await
        .map_err(state_error)?;
    Ok(raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or_else(|| json!({})))
}

/// The version without its local part (`1.0.0+prod` → `1.0.0`), as packaging's `public`.
fn public(version: &str) -> &str {
    version.split('+').next().unwrap_or(version)
}

/// Steps 6–9: apigw-manager's `create_version_and_release_apigw`.
async fn release(
    api: &Management,
    s: &GatewaySettings,
    state: &dyn Store,
    log: &mut impl FnMut(String),
) -> Result<Synced, SyncError> {
    let latest = api.get("resource_versions/latest", &[]).await?;
    let latest = latest
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let saved = signature_state(state).await?;
    let dirty = saved.get("is_dirty").and_then(Value::as_bool) == Some(true);
    let defined = s.release_version.as_str();
    let (version, created) = match latest {
        Some(latest) if public(&latest) == public(defined) && !dirty => {
            log(format!(
                "resource version {latest} is current: releasing it again"
            ));
            (latest, false)
        }
        _ => {
            let listed = api
                .get("resource_versions/", &[("version", defined)])
                .await?;
            let exists = match &listed {
                Value::Object(o) => o.get("count").and_then(Value::as_u64).unwrap_or(0) != 0,
                Value::Array(a) => !a.is_empty(),
                _ => false,
            };
            let version = if exists {
                format!(
                    "{}+{}",
                    public(defined),
                    chrono::Local::now().format("%Y%m%d%H%M%S")
                )
            } else {
                defined.to_owned()
            };
            let reply = api
                .post(
                    "resource_versions/",
                    &json!({"version": version, "comment": s.release_comment}),
                )
                .await?;
            let version = reply
                .get("version")
                .and_then(Value::as_str)
                .map_or(version, str::to_owned);
            log(format!("resource version {version} created"));
            let signature = saved.get("signature").cloned().unwrap_or(Value::Null);
            let value = json!({"is_dirty": false, "signature": signature}).to_string();
            state
                .put_setting(keys::RESOURCE_SIGNATURE, &value)
                .await
                .map_err(state_error)?;
            (version, true)
        }
    };
    let reply = api
        .post(
            "resource_versions/release/",
            &json!({"version": version, "comment": "", "stage_names": [s.stage]}),
        )
        .await?;
    log(format!(
        "released {} to stage(s) {}",
        reply
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or(&version),
        reply.get("stage_names").unwrap_or(&json!([s.stage]))
    ));
    Ok(Synced::Released { version, created })
}

/// Step 10: the gateway's public key, kept in the store for the web processes.
async fn fetch_key(
    api: &Management,
    s: &GatewaySettings,
    state: &dyn Store,
    log: &mut impl FnMut(String),
) -> Result<(), SyncError> {
    let pem = super::key::fetch(api).await?;
    state
        .put_setting(&keys::public_key(&s.gateway), &pem)
        .await
        .map_err(state_error)?;
    log(format!(
        "public key of gateway {} stored ({} bytes)",
        s.gateway,
        pem.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::public;

    #[test]
    fn public_drops_the_local_part() {
        assert_eq!(public("1.0.0+prod"), "1.0.0");
        assert_eq!(public("1.0.0+20261201144631"), "1.0.0");
        assert_eq!(public("2.0.0"), "2.0.0");
    }
}
