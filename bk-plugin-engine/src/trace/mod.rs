//! W3C Trace Context: the caller's `traceparent`, carried from `invoke` to every resume, the
//! callback deliveries and the finish notification of the invocation.
//!
//! The engine runs each of these inside a span (target [`SPAN_TARGET`]): `invoke`, `resume`,
//! `callback`, `notification`. A [`SpanLinker`] connects a span to its parent trace and says
//! what the span's own trace context is; [`LocalSpans`] (the default) only derives ids, so
//! the W3C trace id reaches the logs and the notification's `traceparent` without any
//! exporter. The HTTP runtime's `otel` feature installs one that exports the spans.

mod linker;
mod parent;

pub use linker::{LocalSpans, SpanLinker};
pub use parent::{InvalidTraceParent, TraceParent};

/// The `tracing` target of the engine's trace spans (`invoke`, `resume`, `callback`,
/// `notification`).
pub const SPAN_TARGET: &str = "bk_plugin::trace";
