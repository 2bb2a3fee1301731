//! [`EngineEnv`]: the engine settings an operator sets in the environment, with the Python
//! framework's variable names where it has one.

use std::time::Duration;

use bk_plugin_engine::EngineConfig;

use crate::config::{ConfigError, boolean, positive, seconds};

/// Engine settings from the environment; `None` keeps the value of the
/// [`EngineConfig`] given to [`Server::engine_config`](crate::Server::engine_config) (by
/// default its defaults).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EngineEnv {
    /// `BK_PLUGIN_STORE_TIMEOUT` (seconds): [`EngineConfig::store_timeout`].
    pub store_timeout: Option<Duration>,
    /// `BK_PLUGIN_INVOKE_TIMEOUT` (seconds): [`EngineConfig::invoke_timeout`].
    pub invoke_timeout: Option<Duration>,
    /// `BK_PLUGIN_STEP_TIMEOUT` (seconds): [`EngineConfig::step_timeout`].
    pub step_timeout: Option<Duration>,
    /// `BK_PLUGIN_MAX_STATE_BYTES`: [`EngineConfig::max_state_bytes`].
    pub max_state_bytes: Option<usize>,
    /// `SCHEDULE_PERSISTENT_DAYS` (the Python framework's) or `BK_PLUGIN_RETENTION_DAYS`:
    /// [`EngineConfig::retention`] in days.
    pub retention: Option<Duration>,
    /// `PLUGIN_CALLBACK_RETRY_TIMES` (the Python framework's): how many times a callback looks
    /// for its invocation in CALLBACK, [`EngineConfig::callback_attempts`].
    pub callback_attempts: Option<u32>,
    /// `BK_PLUGIN_NOTIFY_ATTEMPTS`: finish-notification attempts,
    /// [`EngineConfig::notify_attempts`].
    pub notify_attempts: Option<u32>,
    /// `BK_PLUGIN_MAX_CONCURRENCY`: resumed steps running at once in this process,
    /// [`EngineConfig::max_concurrency`].
    pub max_concurrency: Option<usize>,
    /// `BK_PLUGIN_ALLOW_CANCEL` (`true`/`false`): callers may cancel waiting invocations of
    /// every version, [`EngineConfig::allow_cancel`].
    pub allow_cancel: Option<bool>,
    /// `BK_PLUGIN_CANCEL_TIMEOUT` (seconds): [`EngineConfig::cancel_timeout`].
    pub cancel_timeout: Option<Duration>,
}

const DAY: u64 = 86_400;

impl EngineEnv {
    /// Reads the variables through `get`.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secs = |name: &'static str| get(name).map(|v| seconds(name, &v)).transpose();
        let count = |name: &'static str| get(name).map(|v| positive(name, &v)).transpose();
        let small = |name: &'static str| {
            count(name)?
                .map(|n| {
                    u32::try_from(n).map_err(|_| ConfigError::Invalid {
                        name,
                        reason: format!("{n} is too large"),
                    })
                })
                .transpose()
        };
        let days = match get("SCHEDULE_PERSISTENT_DAYS") {
            Some(v) => Some(("SCHEDULE_PERSISTENT_DAYS", v)),
            None => get("BK_PLUGIN_RETENTION_DAYS").map(|v| ("BK_PLUGIN_RETENTION_DAYS", v)),
        };
        let retention = days
            .map(|(name, v)| positive(name, &v).map(|d| Duration::from_secs(d as u64 * DAY)))
            .transpose()?;
        Ok(EngineEnv {
            store_timeout: secs("BK_PLUGIN_STORE_TIMEOUT")?,
            invoke_timeout: secs("BK_PLUGIN_INVOKE_TIMEOUT")?,
            step_timeout: secs("BK_PLUGIN_STEP_TIMEOUT")?,
            max_state_bytes: count("BK_PLUGIN_MAX_STATE_BYTES")?,
            retention,
            callback_attempts: small("PLUGIN_CALLBACK_RETRY_TIMES")?,
            notify_attempts: small("BK_PLUGIN_NOTIFY_ATTEMPTS")?,
            max_concurrency: count("BK_PLUGIN_MAX_CONCURRENCY")?,
            allow_cancel: get("BK_PLUGIN_ALLOW_CANCEL")
                .map(|v| boolean("BK_PLUGIN_ALLOW_CANCEL", &v))
                .transpose()?,
            cancel_timeout: secs("BK_PLUGIN_CANCEL_TIMEOUT")?,
        })
    }

    /// Sets in `config` what was given.
    pub(crate) fn apply(&self, config: &mut EngineConfig) {
        fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *slot = v.clone();
            }
        }
        set(&mut config.store_timeout, &self.store_timeout);
        set(&mut config.invoke_timeout, &self.invoke_timeout);
        set(&mut config.step_timeout, &self.step_timeout);
        set(&mut config.max_state_bytes, &self.max_state_bytes);
        set(&mut config.retention, &self.retention);
        set(&mut config.callback_attempts, &self.callback_attempts);
        set(&mut config.notify_attempts, &self.notify_attempts);
        set(&mut config.max_concurrency, &self.max_concurrency);
        set(&mut config.allow_cancel, &self.allow_cancel);
        set(&mut config.cancel_timeout, &self.cancel_timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<EngineEnv, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EngineEnv::from_lookup(&|name: &str| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn python_names_and_ours_set_the_engine() {
        let env = read(&[
            ("SCHEDULE_PERSISTENT_DAYS", "7"),
            ("PLUGIN_CALLBACK_RETRY_TIMES", "5"),
            ("BK_PLUGIN_NOTIFY_ATTEMPTS", "3"),
            ("BK_PLUGIN_MAX_CONCURRENCY", "32"),
            ("BK_PLUGIN_INVOKE_TIMEOUT", "20"),
        ])
        .unwrap();
        let mut c = EngineConfig::default();
        let untouched = c.step_timeout;
        env.apply(&mut c);
        assert_eq!(c.retention, Duration::from_secs(7 * DAY));
        assert_eq!(
            (c.callback_attempts, c.notify_attempts, c.max_concurrency),
            (5, 3, 32)
        );
        assert_eq!(c.invoke_timeout, Duration::from_secs(20));
        assert_eq!(c.step_timeout, untouched);
    }

    #[test]
    fn the_python_retention_name_wins_and_bad_values_name_their_variable() {
        let env = read(&[
            ("SCHEDULE_PERSISTENT_DAYS", "2"),
            ("BK_PLUGIN_RETENTION_DAYS", "9"),
        ]);
        assert_eq!(env.unwrap().retention, Some(Duration::from_secs(2 * DAY)));
        let err = read(&[("PLUGIN_CALLBACK_RETRY_TIMES", "many")]).unwrap_err();
        assert!(
            err.to_string().contains("PLUGIN_CALLBACK_RETRY_TIMES"),
            "{err}"
        );
        assert!(read(&[("BK_PLUGIN_STEP_TIMEOUT", "0")]).is_err());
    }

    #[test]
    fn cancel_is_allowed_for_every_version_from_the_environment() {
        let mut c = EngineConfig::default();
        read(&[]).unwrap().apply(&mut c);
        assert!(!c.allow_cancel, "off by default");
        let env = read(&[
            ("BK_PLUGIN_ALLOW_CANCEL", "TRUE"),
            ("BK_PLUGIN_CANCEL_TIMEOUT", "5"),
        ])
        .unwrap();
        env.apply(&mut c);
        assert!(c.allow_cancel);
        assert_eq!(c.cancel_timeout, Duration::from_secs(5));
        let err = read(&[("BK_PLUGIN_ALLOW_CANCEL", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("BK_PLUGIN_ALLOW_CANCEL"), "{err}");
    }
}
