//! [`SpanLinker`]: how the engine's spans join their trace.

use std::fmt;

use super::TraceParent;

/// Connects one of the engine's spans to its parent trace context, before the span is
/// entered, and returns the span's own context: what its child spans and its outgoing
/// requests (the finish notification's `traceparent`) carry. `None`: no trace.
pub trait SpanLinker: Send + Sync + fmt::Debug + 'static {
    /// Links `span` under `parent` (the caller's context, or the invocation's stored one;
    /// `None` when there is none) and returns `span`'s own context.
    fn link(&self, span: &tracing::Span, parent: Option<&TraceParent>) -> Option<TraceParent>;
}

/// The default [`SpanLinker`]: no exporter; a span continues its parent's trace under a new
/// span id, and without a parent there is no trace.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalSpans;

impl SpanLinker for LocalSpans {
    fn link(&self, _: &tracing::Span, parent: Option<&TraceParent>) -> Option<TraceParent> {
        parent.map(TraceParent::child)
    }
}
