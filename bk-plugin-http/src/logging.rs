//! Logs: JSON lines on stdout with the fields the BK PaaS log search and SOPS read
//! (`levelname`, `funcName`, `message`, `trace_id`; protocol.md §3.8), and in dev an
//! in-memory copy per trace for `GET /bk_plugin/logs/{trace_id}`.
//!
//! The engine runs every plugin step inside a span named `execute` (invoke) or `schedule`
//! (resume) carrying `trace_id`; every event inside it, the plugin's own `tracing` calls
//! included, gets that trace id and the span name as `funcName`.

use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::sync::{Mutex, OnceLock};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// The trace id of a span, stored in its extensions.
struct TraceId(String);

/// The W3C trace id of a span (`w3c_trace_id`), stored in its extensions.
struct W3cTraceId(String);

/// The field carrying the W3C trace id (the caller's `traceparent`), on the request span and
/// the engine's trace spans; log lines inside them carry it too.
const W3C_FIELD: &str = "w3c_trace_id";

/// Spans of these targets are the runtime's own (`request`, `invoke`, `resume`, ...): they
/// give log lines their trace ids but not their `funcName`.
fn names_func(target: &str) -> bool {
    !target.starts_with("bk_plugin::")
}

/// The trace ids among the fields of a span or an event; a span keeps nothing else.
#[derive(Default)]
struct Ids {
    trace_id: Option<String>,
    w3c_trace_id: Option<String>,
}

impl Visit for Ids {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "trace_id" => self.trace_id = Some(format!("{value:?}")),
            W3C_FIELD => self.w3c_trace_id = Some(format!("{value:?}")),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "trace_id" => self.trace_id = Some(value.to_owned()),
            W3C_FIELD => self.w3c_trace_id = Some(value.to_owned()),
            _ => {}
        }
    }
}

/// An event's fields: its message, its trace ids, the rest.
#[derive(Default)]
struct Fields {
    message: String,
    ids: Ids,
    rest: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "trace_id" | W3C_FIELD => self.ids.record_debug(field, value),
            name => {
                self.rest
                    .insert(name.to_owned(), Value::String(format!("{value:?}")));
            }
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "trace_id" | W3C_FIELD => self.ids.record_str(field, value),
            name => {
                self.rest
                    .insert(name.to_owned(), Value::String(value.to_owned()));
            }
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().to_owned(), value.into());
    }
}

/// Python's level names.
fn levelname(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// Stores each span's `trace_id` in its extensions, so events inside inherit it.
struct TraceIdLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for TraceIdLayer {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut f = Ids::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(t) = f.trace_id {
                ext.insert(TraceId(t));
            }
            if let Some(t) = f.w3c_trace_id {
                ext.insert(W3cTraceId(t));
            }
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        let mut f = Ids::default();
        values.record(&mut f);
        if let (Some(t), Some(span)) = (f.w3c_trace_id, ctx.span(id)) {
            span.extensions_mut().replace(W3cTraceId(t));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(store) = LOGS.get() else { return };
        let mut f = Fields::default();
        event.record(&mut f);
        let scope = scope_info(ctx.event_scope(event).into_iter().flatten());
        if let Some(trace) = f.ids.trace_id.or(scope.trace) {
            let func = scope.func.unwrap_or_else(|| module_tail(event));
            store.push(
                trace,
                format!(
                    "{} [{func}] {}",
                    levelname(event.metadata().level()),
                    f.message
                ),
            );
        }
    }
}

/// The innermost trace ids and function span of an event's scope.
#[derive(Default)]
struct ScopeInfo {
    trace: Option<String>,
    w3c: Option<String>,
    /// The innermost span that names the function (`funcName`).
    func: Option<&'static str>,
}

/// The innermost trace ids and function span of an event's scope (innermost first); only the
/// ids kept are copied.
fn scope_info<'a, S: for<'l> LookupSpan<'l> + 'a>(
    scope: impl Iterator<Item = SpanRef<'a, S>>,
) -> ScopeInfo {
    let mut out = ScopeInfo::default();
    for s in scope {
        if out.func.is_none() && names_func(s.metadata().target()) {
            out.func = Some(s.name());
        }
        if out.trace.is_none() || out.w3c.is_none() {
            let ext = s.extensions();
            if out.trace.is_none() {
                out.trace = ext.get::<TraceId>().map(|t| t.0.clone());
            }
            if out.w3c.is_none() {
                out.w3c = ext.get::<W3cTraceId>().map(|t| t.0.clone());
            }
        }
    }
    out
}

fn module_tail(event: &Event<'_>) -> &'static str {
    event
        .metadata()
        .module_path()
        .and_then(|m| m.rsplit("::").next())
        .unwrap_or("")
}

/// Writes every event as one JSON object per line to its writer.
struct JsonLines<W> {
    make_writer: W,
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let scope = scope_info(ctx.event_scope(event).into_iter().flatten());
        let meta = event.metadata();
        let line = Line {
            asctime: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            levelname: levelname(meta.level()),
            name: meta.target(),
            func: scope.func.unwrap_or_else(|| module_tail(event)),
            message: &f.message,
            trace_id: f.ids.trace_id.or(scope.trace),
            w3c_trace_id: f.ids.w3c_trace_id.or(scope.w3c),
            rest: &f.rest,
        };
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        let _ = std::io::Write::write_all(&mut self.make_writer.make_writer_for(meta), &text);
    }
}

/// One log line, in the order of the Python framework's fields; the event's other fields
/// follow (a field named like one of these is left out).
struct Line<'a> {
    asctime: String,
    levelname: &'static str,
    name: &'static str,
    func: &'static str,
    message: &'a str,
    trace_id: Option<String>,
    w3c_trace_id: Option<String>,
    rest: &'a Map<String, Value>,
}

/// The keys [`Line`] always writes.
const LINE_KEYS: [&str; 7] = [
    "asctime",
    "levelname",
    "name",
    "funcName",
    "message",
    "trace_id",
    W3C_FIELD,
];

impl Serialize for Line<'_> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("asctime", &self.asctime)?;
        map.serialize_entry("levelname", self.levelname)?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("funcName", self.func)?;
        map.serialize_entry("message", self.message)?;
        map.serialize_entry("trace_id", &self.trace_id)?;
        if let Some(w3c) = &self.w3c_trace_id {
            map.serialize_entry(W3C_FIELD, w3c)?;
        }
        for (k, v) in self.rest {
            if !LINE_KEYS.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// Lines per trace, and the traces in arrival order (the oldest is dropped first).
type Lines = (HashMap<String, Vec<String>>, VecDeque<String>);

/// Log lines kept per trace in dev (bounded).
#[derive(Debug, Default)]
pub(crate) struct LogStore {
    inner: Mutex<Lines>,
}

const MAX_TRACES: usize = 10_000;
const MAX_LINES: usize = 1_000;

impl LogStore {
    fn push(&self, trace: String, line: String) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *g;
        if !map.contains_key(&trace) {
            if order.len() >= MAX_TRACES
                && let Some(old) = order.pop_front()
            {
                map.remove(&old);
            }
            order.push_back(trace.clone());
        }
        let lines = map.entry(trace).or_default();
        if lines.len() < MAX_LINES {
            lines.push(line);
        }
    }

    /// The lines of `trace`, joined by `\n` (the Python framework's `logs` format).
    pub(crate) fn get(&self, trace: &str) -> String {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0.get(trace).map(|l| l.join("\n")).unwrap_or_default()
    }
}

static LOGS: OnceLock<LogStore> = OnceLock::new();

/// How many lines may wait for the stdout writer before new ones are dropped: about half a
/// second of one line per invoke at full speed. The queue is allocated whole at start
/// (32 bytes a line); tracing-appender's default of 128,000 lines made it 4 MiB, a quarter
/// of an idle server's memory.
const BUFFERED_LINES: usize = 16_384;

/// Flushes the background log writer (and, with the `otel` feature, the spans not yet
/// exported) when dropped: keep it until `main` returns.
#[derive(Debug)]
#[must_use = "logs written after the guard is dropped are lost"]
pub struct LogGuard {
    // Dropped first: the exporter's shutdown may still log.
    #[cfg(feature = "otel")]
    _traces: Option<crate::otel::Traces>,
    _writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// The dev log store, if logging was initialised with it.
pub(crate) fn log_store() -> Option<&'static LogStore> {
    LOGS.get()
}

/// Installs the global subscriber: JSON lines on stdout (level from `RUST_LOG`, default
/// `info`); with `keep_per_trace`, also the dev copy served by `logs/{trace_id}`. Does nothing
/// if a subscriber is already installed. Hold the returned guard until the program ends.
///
/// With the `otel` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, spans are also exported over OTLP; dropping
/// the guard flushes them.
pub fn init_logging(keep_per_trace: bool) -> LogGuard {
    use tracing_subscriber::prelude::*;
    if keep_per_trace {
        let _ = LOGS.set(LogStore::default());
    }
    // Dev also shows each step's start (a DEBUG line), as the Python framework's dev logs do;
    // production logs one line per step.
    let default = if keep_per_trace {
        "info,bk_plugin_engine=debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The engine's trace spans (invoke, resume, ...) whatever the level asked for, unless
    // `RUST_LOG` names them: they carry the W3C trace id into the lines inside them.
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if v.contains(bk_plugin_engine::trace::SPAN_TARGET) => filter,
        _ => match format!("{}=info", bk_plugin_engine::trace::SPAN_TARGET).parse() {
            Ok(directive) => filter.add_directive(directive),
            Err(_) => filter,
        },
    };
    #[cfg(feature = "otel")]
    let traces = crate::otel::Traces::from_env();
    #[cfg(feature = "otel")]
    let otel = traces.as_ref().map(|t| {
        use tracing_subscriber::Layer as _;
        tracing_opentelemetry::layer()
            .with_tracer(t.tracer())
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target() != crate::trace_context::REQUEST_TARGET
            }))
    });
    #[cfg(not(feature = "otel"))]
    let otel: Option<tracing_subscriber::layer::Identity> = None;
    // Lines go to stdout from a background thread, so a request never waits on the pipe
    // (lines are dropped only if `BUFFERED_LINES` of them are waiting).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .finish(std::io::stdout());
    let fmt = JsonLines {
        make_writer: writer,
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(TraceIdLayer)
        .with(fmt)
        .with(otel)
        .try_init()
        .is_ok();
    LogGuard {
        #[cfg(feature = "otel")]
        _traces: traces.filter(|_| installed),
        _writer: installed.then_some(guard),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines `emit` logs through the runtime's layers: the text, and each line parsed.
    fn json_lines(emit: impl FnOnce()) -> (String, Vec<Value>) {
        let out = Capture::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::registry()
            .with(TraceIdLayer)
            .with(JsonLines {
                make_writer: move || writer.clone(),
            });
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (text, lines)
    }

    #[test]
    fn lines_carry_the_fields_the_paas_log_search_reads() {
        let (text, lines) = json_lines(|| {
            let span = tracing::info_span!("execute", trace_id = "a".repeat(32));
            span.in_scope(|| {
                // Deeper spans of the plugin's own still inherit the trace id.
                tracing::info_span!("my_call").in_scope(|| {
                    tracing::warn!(task_id = 7, "plugin says {}", "hi");
                });
            });
            tracing::info!("outside");
        });
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["levelname"], "WARNING");
        assert_eq!(lines[0]["funcName"], "my_call");
        assert_eq!(lines[0]["message"], "plugin says hi");
        assert_eq!(lines[0]["trace_id"], "a".repeat(32));
        assert_eq!(lines[0]["task_id"], 7);
        assert!(lines[0]["asctime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(lines[1]["trace_id"], Value::Null);
        assert_eq!(lines[1]["levelname"], "INFO");
    }

    #[test]
    fn lines_in_a_traced_span_carry_the_w3c_trace_id_and_keep_their_func_name() {
        let (text, lines) = json_lines(|| {
            // As the engine does: the W3C id recorded once the span is linked.
            let invoke = tracing::info_span!(
                target: "bk_plugin::trace",
                "invoke",
                w3c_trace_id = tracing::field::Empty
            );
            invoke.record("w3c_trace_id", "b".repeat(32));
            invoke.in_scope(|| {
                tracing::info_span!("execute", trace_id = "a".repeat(32)).in_scope(|| {
                    tracing::info!("in the plugin");
                });
                tracing::info!("in invoke");
            });
            tracing::info!("outside");
        });
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0]["w3c_trace_id"], "b".repeat(32));
        assert_eq!(lines[0]["trace_id"], "a".repeat(32));
        assert_eq!(lines[0]["funcName"], "execute");
        assert_eq!(lines[1]["w3c_trace_id"], "b".repeat(32));
        // The runtime's own spans do not name the function: the module does.
        assert_eq!(lines[1]["funcName"], "tests");
        assert!(lines[2].get("w3c_trace_id").is_none(), "{text}");
    }
}
