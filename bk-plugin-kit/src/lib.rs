//! Write [BlueKing](https://bk.tencent.com/) plugins in Rust.
//!
//! A plugin is a versioned unit of work called by BlueKing SOPS (and other systems) over HTTP.
//! Each version declares the **Inputs** the end user fills in, the **ContextInputs** the
//! calling system supplies, the **Outputs** it produces, and an `execute` function that either
//! finishes (SUCCESS), fails (FAIL), or asks to be resumed later: after a poll interval
//! ([`Context::wait_poll`], state POLL) or when an external system calls back
//! ([`Context::wait_callback`], state CALLBACK).
//!
//! `bk-plugin-kit` is the one dependency a plugin crate needs. Its schemas, validation and
//! error texts match the Python `bk-plugin-framework`, so callers see no difference.
//!
//! # Example
//!
//! ```rust,standalone_crate
//! use bk_plugin_kit::prelude::*;
//! use bk_plugin_kit::serde_json; // no separate serde_json dependency needed
//! use std::time::Duration;
//!
//! /// Inputs of the SOPS task plugin (end user fills these in).
//! #[derive(Inputs)]
//! pub struct ExecInputs {
//!     /// Template to instantiate.
//!     pub template_id: i64,
//!     pub task_name: String,
//!     /// Global constants of the task.
//!     #[field(default)]
//!     pub constants: serde_json::Map<String, serde_json::Value>,
//!     pub options: ExecOptions,          // nested model
//!     pub tag: Option<String>,           // optional field
//! }
//!
//! #[derive(Inputs)]
//! pub struct ExecOptions { pub name: String, pub value: String }
//!
//! /// Supplied by the calling system, not the end user.
//! #[derive(ContextInputs)]
//! pub struct ExecContext {
//!     #[field(title = "业务 cc id", description = "业务在 cmdb 中的 id")]
//!     pub biz_cc_id: i64,
//!     #[field(title = "任务执行人")]
//!     pub executor: String,
//! }
//!
//! #[derive(Outputs)]
//! pub struct ExecOutputs {
//!     #[field(title = "标准运维任务 ID")]
//!     pub task_id: i64,
//!     #[field(title = "标准运维任务 URL")]
//!     pub task_url: String,
//! }
//!
//! /// Creates a SOPS task and polls it until it ends.
//! #[plugin(version = "1.0.0", desc = "Run a SOPS task")]
//! pub struct SopsExec;
//!
//! impl Plugin for SopsExec {
//!     type Inputs = ExecInputs;
//!     type ContextInputs = ExecContext;
//!     type Outputs = ExecOutputs;
//!
//!     async fn execute(&self, inputs: ExecInputs, ctx: &mut Context<Self>) -> Result<(), PluginError> {
//!         match ctx.state() {
//!             State::Empty => {
//!                 ctx.storage_mut().insert("task_id".into(), 42.into());
//!                 ctx.wait_poll(Duration::from_secs(5));
//!             }
//!             State::Poll => ctx.set_outputs(ExecOutputs { task_id: 42, task_url: inputs.task_name })?,
//!             other => return Err(PluginError::new(format!("unexpected state {other:?}"))),
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
//! # }
//! # fn main() {
//! use bk_plugin_kit::{Invocation, registry};
//! use serde_json::json;
//!
//! // The registry holds every `#[plugin]` linked into the binary.
//! let registry = registry();
//! assert_eq!(registry.versions().collect::<Vec<_>>(), ["1.0.0"]);
//!
//! // `detail` is what the Python framework would serve for the equivalent pydantic models.
//! let detail = registry.detail("1.0.0").unwrap();
//! assert_eq!(detail["inputs"]["required"], json!(["template_id", "task_name", "options"]));
//! assert_eq!(detail["inputs"]["properties"]["options"], json!({"$ref": "#/definitions/ExecOptions"}));
//! assert_eq!(detail["context_inputs"]["properties"]["biz_cc_id"]["title"], "业务 cc id");
//!
//! // Run the first step by version string, JSON in and JSON out. Numbers sent as strings
//! // are accepted, as pydantic accepts them.
//! let inputs = json!({"template_id": "7", "task_name": "deploy", "options": {"name": "n", "value": "v"}});
//! let context = json!({"biz_cc_id": 2, "executor": "admin"});
//! let outcome = block_on(registry.run("1.0.0", Invocation::new("0".repeat(32), inputs, context))).unwrap();
//! assert_eq!(outcome.state, State::Poll);
//! assert_eq!(outcome.storage["task_id"], 42);
//!
//! // Invalid inputs fail with every field error and its path.
//! let bad = Invocation::new("1".repeat(32), json!({"template_id": "abc", "options": {}}), json!({}));
//! let outcome = block_on(registry.run("1.0.0", bad)).unwrap();
//! assert_eq!(outcome.state, State::Fail);
//! assert!(outcome.err.unwrap().starts_with("inputs validation error: 4 validation errors for Inputs\ntemplate_id\n"));
//! # }
//! ```
//!
//! # What the macros check at compile time
//!
//! - `#[plugin(version = ..)]`: a semantic version (`1.0.0`, `1.0.0-rc.1`) or a pre-release in
//!   the Python framework's spelling (`1.0.0rc1`, served as written, ordered as `1.0.0-rc1`),
//!   no build metadata; two plugins with the same version in one crate are a compile error
//!   pointing at both.
//! - `#[field(form = {"ui:component": ..})]` (the Python `InputsForm`): a JSON object of
//!   `ui:*` keys, on `#[derive(Inputs)]` fields only.
//! - Unknown or repeated attribute keys, wrong value kinds: errors listing the valid keys.
//! - A field type that is not a [`FieldType`]: an error on that field's type.
//! - `enable_plugin_callback = true` without a `plugin_callback_info` field in the
//!   ContextInputs.
//! - `#[field(ge = .., max_length = .., regex = .., min_items = ..)]` constraints that do not fit
//!   the field's type, and patterns the `regex` crate cannot compile.
//! - `#[derive(Choice)]` on anything but an enum of unit variants with distinct string or
//!   integer values.
//!
//! # Choices and constraints
//!
//! A field with a fixed set of values (a select box in SOPS) is an enum deriving
//! [`Choice`](trait@Choice), as pydantic's `class Action(str, Enum)`, `IntEnum` or, with
//! `#[choice(literal)]`, `Literal["a", "b"]`:
//!
//! ```rust
//! use bk_plugin_kit::prelude::*;
//!
//! #[derive(Choice, Debug, Clone, Copy, PartialEq)]
//! pub enum Action {
//!     #[choice(rename = "start")]
//!     Start,
//!     #[choice(rename = "stop")]
//!     Stop,
//! }
//!
//! #[derive(Inputs, Debug)]
//! pub struct Task {
//!     pub action: Action,
//!     #[field(default = 10, ge = 1, le = 100)]
//!     pub limit: i64,
//!     #[field(min_length = 1, regex = "^[a-z_]+$")]
//!     pub name: String,
//! }
//!
//! let err = <Task as Inputs>::from_json(&bk_plugin_kit::serde_json::json!(
//!     {"action": "pause", "limit": 0, "name": "ok"}
//! ))
//! .unwrap_err();
//! assert!(err.to_string().contains("permitted: 'start', 'stop'"));
//! assert!(err.to_string().contains("ensure this value is greater than or equal to 1"));
//! ```
//!
//! # Cargo features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `engine` | yes | `engine`: the execution engine, and `testing` |
//! | `sqlite` | yes | `engine::SqliteStore`, the embedded schedule store |
//! | `http` | yes | `run`, `http`: the plugin server speaking the Python framework's protocol |
//! | `postgres` | no | `engine::PostgresStore`; `DATABASE_URL=postgres://...` |
//! | `mysql` | no | `engine::MySqlStore` (MySQL 8 / MariaDB 10.6+); `DATABASE_URL=mysql://...` |
//!
//! With `postgres` or `mysql`, several replicas of the plugin binary share one database
//! (docs/deployment.md in the repository).
//!
//! The guide in the repository's `docs/` covers concepts, a tutorial, the macro reference,
//! the coercion rules and when a change needs a new version.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use bk_plugin_core::*;

/// The execution engine: invocations across resumes, durable schedules, callbacks, finish
/// notifications (feature `engine`, on by default).
#[cfg(feature = "engine")]
#[cfg_attr(docsrs, doc(cfg(feature = "engine")))]
pub mod engine {
    #[doc(inline)]
    pub use bk_plugin_engine::*;

    /// The embedded SQLite schedule store (feature `sqlite`, on by default).
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[doc(inline)]
    pub use bk_plugin_store::{SqliteOptions, SqliteStore};

    /// The PostgreSQL store (feature `postgres`).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    #[doc(inline)]
    pub use bk_plugin_store::{PostgresOptions, PostgresStore};

    /// The MySQL / MariaDB store (feature `mysql`).
    #[cfg(feature = "mysql")]
    #[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
    #[doc(inline)]
    pub use bk_plugin_store::{MySqlOptions, MySqlStore};
}

/// The HTTP runtime (feature `http`, on by default): the Python framework's wire protocol on
/// axum. Most plugin crates only need [`run`].
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http {
    #[doc(inline)]
    pub use bk_plugin_http::*;
}

/// Runs the plugin server from `main` (feature `http`): configuration from the BK PaaS
/// environment, schedules in SQLite, JSON logs on stdout. See [`http::run`].
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     bk_plugin_kit::run()
/// }
/// ```
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use bk_plugin_http::{run, run_with};

/// Unit-testing plugins with a virtual clock (feature `engine`): see
/// [`TestRunner`](testing::TestRunner). Also the one-line schema lock test,
/// [`check_schema_lock`](testing::check_schema_lock).
#[cfg(feature = "engine")]
#[cfg_attr(docsrs, doc(cfg(feature = "engine")))]
pub mod testing {
    #[doc(inline)]
    pub use bk_plugin_core::versioning::check_schema_lock;
    #[doc(inline)]
    pub use bk_plugin_engine::testing::*;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The examples of `docs/testing.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/testing.md")]
pub struct TestingDoctests;
