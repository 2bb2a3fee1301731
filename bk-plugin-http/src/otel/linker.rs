//! [`OtelSpans`]: the engine's spans as OpenTelemetry spans of the caller's trace.

use bk_plugin_engine::TraceParent;
use bk_plugin_engine::trace::{LocalSpans, SpanLinker};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Sets the OpenTelemetry parent of an engine span (the caller's or the stored
/// `traceparent`) and answers the span's own context, as the exporter records it. A span
/// the OpenTelemetry layer does not see (no endpoint configured) is linked as
/// [`LocalSpans`] links it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OtelSpans;

impl SpanLinker for OtelSpans {
    fn link(&self, span: &tracing::Span, parent: Option<&TraceParent>) -> Option<TraceParent> {
        if let Some(p) = parent {
            let remote = SpanContext::new(
                TraceId::from_bytes(p.trace_id()),
                SpanId::from_bytes(p.span_id()),
                TraceFlags::new(p.flags()),
                true,
                TraceState::default(),
            );
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        }
        let cx = span.context();
        let own = cx.span().span_context().clone();
        if own.is_valid() {
            TraceParent::new(
                own.trace_id().to_bytes(),
                own.span_id().to_bytes(),
                own.trace_flags().to_u8(),
            )
        } else {
            LocalSpans.link(span, parent)
        }
    }
}
