//! Orphans at startup: unfinished invocations (POLL or CALLBACK) of versions this binary does
//! not serve. Each would fail at its next resume (`plugin version … is not served by this
//! binary`), so the server refuses to start over them unless told to
//! ([`Config::allow_orphans`](crate::Config::allow_orphans)).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bk_plugin_core::Registry;
use bk_plugin_engine::store::Store;

use crate::server::StartError;

/// How long the startup query may take before the start fails.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Versions with unfinished invocations that the binary does not serve, each with how many:
/// the payload of [`StartError::Orphans`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphans(pub Vec<(String, u64)>);

impl fmt::Display for Orphans {
    /// `0.9.0 (3 waiting), 0.8.0 (1 waiting)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (version, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{version} ({n} waiting)")?;
        }
        Ok(())
    }
}

/// Checks the store for orphans: `Err` listing them unless `allow`, else a warning.
pub(crate) async fn check(
    registry: &Registry,
    store: &Arc<dyn Store>,
    allow: bool,
    database_url: &str,
) -> Result<(), StartError> {
    let store_error = |message: String| StartError::Store {
        url: crate::redact::database_url(database_url),
        message,
    };
    let waiting = match tokio::time::timeout(QUERY_TIMEOUT, store.waiting_versions()).await {
        Ok(Ok(waiting)) => waiting,
        Ok(Err(e)) => return Err(store_error(format!("reading the waiting versions: {e}"))),
        Err(_) => {
            return Err(store_error(format!(
                "reading the waiting versions took longer than {}s",
                QUERY_TIMEOUT.as_secs()
            )));
        }
    };
    let orphans = Orphans(
        waiting
            .into_iter()
            .filter(|(version, _)| registry.get(version).is_none())
            .collect(),
    );
    if orphans.0.is_empty() {
        return Ok(());
    }
    if allow {
        tracing::warn!(
            %orphans,
            "serving although the store holds unfinished invocations of versions this binary \
             does not serve (allowed by --allow-orphans / BK_PLUGIN_ALLOW_ORPHANS): they fail \
             at their next resume"
        );
        eprintln!(
            "bk-plugin: warning: unfinished invocations of versions this binary does not serve: \
             {orphans}; they fail at their next resume (allowed by --allow-orphans / \
             BK_PLUGIN_ALLOW_ORPHANS)"
        );
        return Ok(());
    }
    Err(StartError::Orphans(orphans))
}
