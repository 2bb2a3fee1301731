//! [`GatewayKey`]: the API gateway's public key verifying `X-Bkapi-JWT`. Either configured
//! (`BK_APIGW_PUBLIC_KEY`), or — outside dev without it — fetched from the gateway at startup
//! and kept in the store (setting `apigw.public_key:<gateway>`, which `apigw sync` also
//! writes), so a gateway outage at a later start does not stop the plugin. A token whose
//! signature fails makes the server fetch the key again (key rotation), at most once a minute.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bk_plugin_engine::store::Store;

use crate::apigw::{Management, fetch_public_key, public_key_setting};
use crate::auth::{Caller, JwtVerifier, Rejected};
use crate::config::Config;

/// The shortest time between two fetches after signature failures.
const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The timeout of a key fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a fetched key comes from and goes to.
#[derive(Debug)]
struct Source {
    api: Management,
    setting: String,
    store: Arc<dyn Store>,
}

/// The verifier of gateway JWTs, refreshable.
#[derive(Debug)]
pub(crate) struct GatewayKey {
    verifier: RwLock<Option<JwtVerifier>>,
    source: Option<Source>,
    /// When the last refresh after a signature failure was tried.
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
}

impl GatewayKey {
    fn new(verifier: Option<JwtVerifier>, source: Option<Source>) -> Self {
        GatewayKey {
            verifier: RwLock::new(verifier),
            source,
            last_refresh: tokio::sync::Mutex::new(None),
        }
    }

    /// The key of `config`: the configured one, or fetched from the gateway (falling back to
    /// the one kept in `store`). Fails when the key is needed and neither has one.
    pub(crate) async fn load(config: &Config, store: &Arc<dyn Store>) -> Result<Self, String> {
        if let Some(pem) = &config.apigw_public_key {
            return Ok(Self::new(Some(JwtVerifier::from_pem(pem)?), None));
        }
        let (Some(gateway), Some(base), true) = (
            &config.apigw_name,
            &config.apigw_manager_url,
            config.fetches_public_key(),
        ) else {
            return Ok(Self::new(None, None));
        };
        let api = Management::new(
            base,
            gateway,
            config.app_code.as_deref().unwrap_or_default(),
            config.app_secret.as_deref().unwrap_or_default(),
            config.app_tenant_id.as_deref().unwrap_or("system"),
            FETCH_TIMEOUT,
        )
        .map_err(|e| e.to_string())?;
        let source = Source {
            api,
            setting: public_key_setting(gateway),
            store: store.clone(),
        };
        let pem = match source.fetch().await {
            Ok(pem) => pem,
            Err(fetch_error) => match store.get_setting(&source.setting).await {
                Ok(Some(pem)) => {
                    tracing::warn!(
                        error = %fetch_error,
                        "cannot fetch the API gateway's public key; using the one stored earlier"
                    );
                    pem
                }
                stored => {
                    let stored = match stored {
                        Err(e) => format!("reading the stored key failed: {e}"),
                        _ => "no key is stored from an earlier start or `apigw sync`".into(),
                    };
                    let message =
                        format!("cannot get the API gateway's public key: {fetch_error}; {stored}");
                    if config.require_exempt {
                        tracing::warn!("{message}; gateway-only endpoints stay exempt");
                        return Ok(Self::new(None, Some(source)));
                    }
                    return Err(format!(
                        "{message} (or set BK_APIGW_PUBLIC_KEY to the gateway's public key)"
                    ));
                }
            },
        };
        Ok(Self::new(Some(JwtVerifier::from_pem(&pem)?), Some(source)))
    }

    fn current(&self) -> Option<JwtVerifier> {
        self.verifier.read().map(|v| v.clone()).unwrap_or_default()
    }

    /// The caller `token` proves, if it verifies (after a refresh of the key, when its
    /// signature fails and the last refresh is a minute old).
    pub(crate) async fn caller(&self, token: &str) -> Option<Caller> {
        let failed = match self.current().map(|v| v.check(token)) {
            Some(Ok(caller)) => return Some(caller),
            Some(Err(Rejected::Invalid)) => return None,
            Some(Err(Rejected::Signature)) | None => true,
        };
        if failed && self.refresh().await {
            return self.current()?.check(token).ok();
        }
        None
    }

    /// Fetches the key again unless a refresh was tried within [`REFRESH_INTERVAL`]; `true`
    /// when a new key is in place.
    async fn refresh(&self) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        let mut last = self.last_refresh.lock().await;
        if last.is_some_and(|t| t.elapsed() < REFRESH_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        let verifier = match source
            .fetch()
            .await
            .and_then(|pem| JwtVerifier::from_pem(&pem))
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "refreshing the API gateway's public key failed");
                return false;
            }
        };
        tracing::info!("refreshed the API gateway's public key after a JWT signature failure");
        if let Ok(mut v) = self.verifier.write() {
            *v = Some(verifier);
        }
        true
    }
}

impl Source {
    /// The key from the gateway, stored for later starts.
    async fn fetch(&self) -> Result<String, String> {
        let pem = fetch_public_key(&self.api)
            .await
            .map_err(|e| e.to_string())?;
        JwtVerifier::from_pem(&pem)?;
        if let Err(e) = self.store.put_setting(&self.setting, &pem).await {
            tracing::warn!(error = %e, "cannot store the API gateway's public key");
        }
        Ok(pem)
    }
}
