//! Execution engine of [bk-plugin-kit](https://docs.rs/bk-plugin-kit): it runs an invocation
//! from EMPTY to SUCCESS or FAIL across any number of resumes, durably.
//!
//! Plugin authors use it through `bk_plugin_kit` (the HTTP runtime drives it) and its
//! [`testing`] harness. The pieces:
//!
//! - [`Engine`]: `invoke` (first run inline; POLL/CALLBACK create a schedule row), `callback`
//!   (verify the token, queue the data), `schedule` (query), and the background loops
//!   ([`Engine::start`]) that resume due schedules and send finish notifications.
//! - [`Store`](store::Store): the durable schedule store, with leases so that a schedule runs in
//!   at most one place at a time. [`MemoryStore`](store::MemoryStore) here; SQLite,
//!   PostgreSQL and MySQL / MariaDB in `bk-plugin-store`.
//! - [`CallbackKey`] / [`CallbackSigner`]: Fernet callback tokens and URLs, the same bytes as
//!   the Python framework.
//! - [`Clock`]: real or virtual time.
//!
//! ```rust,standalone_crate
//! # extern crate bk_plugin_core as bk_plugin_kit;
//! use std::sync::Arc;
//! use bk_plugin_core::{Context, Plugin, PluginError, Registry, State};
//! use bk_plugin_engine::{Engine, store::MemoryStore};
//!
//! #[derive(Default)]
//! #[bk_plugin_core::plugin(version = "1.0.0")]
//! pub struct Hello;
//!
//! impl Plugin for Hello {
//!     type Inputs = ();
//!     type ContextInputs = ();
//!     type Outputs = ();
//!     async fn execute(&self, _: (), ctx: &mut Context<Self>) -> Result<(), PluginError> {
//!         ctx.outputs_mut().insert("hello".into(), "world".into());
//!         Ok(())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let registry: &'static Registry = Box::leak(Box::new(Registry::of::<Hello>().unwrap()));
//! let engine = Engine::builder(registry, Arc::new(MemoryStore::new())).build();
//! let done = engine.invoke("1.0.0", serde_json::json!({}), serde_json::json!({})).await.unwrap();
//! assert_eq!(done.state, State::Success);
//! assert_eq!(done.outputs.unwrap()["hello"], "world");
//! # });
//! ```
#![deny(missing_docs)]

mod background;
mod cancel;
pub mod clock;
mod commit;
mod config;
mod deadline;
mod engine;
mod health;
mod notify;
mod ops;
mod sealing;
pub mod store;
pub mod testing;
mod token;
pub mod trace;

pub use background::EngineHandle;
pub use cancel::{CancelError, Cancelled};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use config::EngineConfig;
pub use engine::{CallbackError, Engine, EngineBuilder, InvokeError, Invoked};
pub use notify::{
    FinishNotifier, HttpNotifier, NotifyPolicy, accepted as notification_accepted, redact_url,
};
pub use ops::RetryNotifyError;
pub use sealing::{SEALED_PREFIX, SealError, SecretKey};
pub use token::{CallbackKey, CallbackSigner, TokenError, callback_round, new_callback_id, new_id};
pub use trace::TraceParent;
