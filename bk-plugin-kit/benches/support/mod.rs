//! What the engine benches share: the engine they drive, the clock, waiting, percentiles.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bk_plugin_kit::engine::store::Store;
use bk_plugin_kit::engine::{Engine, EngineConfig};

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An engine over `store` sized for throughput: 512 steps at once, claims of 256.
pub(crate) fn engine(store: Arc<dyn Store>) -> Engine {
    let mut config = EngineConfig::default();
    config.max_concurrency = 512;
    config.claim_batch = 256;
    Engine::builder(bk_plugin_kit::registry(), store)
        .config(config)
        .build()
}

/// Waits until no invocation in `store` is unfinished.
pub(crate) async fn wait_idle(store: &Arc<dyn Store>) {
    loop {
        let c = store.counts().await.unwrap();
        if c.polling + c.waiting_callback == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The `p` quantile of ascending `sorted`.
pub(crate) fn percentile(sorted: &[i64], p: f64) -> i64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
