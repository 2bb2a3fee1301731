//! The `otel` feature: the engine's spans (`invoke`, `resume`, `callback`, `notification`)
//! exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; nothing is exported (or set up) otherwise.
//!
//! The exporter reads the other standard variables itself (`OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, ...); `OTEL_SERVICE_NAME` defaults to the plugin code
//! (`BKPAAS_APP_ID`).

mod client;
mod linker;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

pub(crate) use linker::OtelSpans;

/// The variables that name an OTLP endpoint; without one nothing is exported.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The exporting tracer provider; shut down (the queued spans flushed) when dropped.
#[derive(Debug)]
pub(crate) struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// The provider configured from the environment; `None` when no endpoint is set or the
    /// exporter cannot be built (logged to stderr: logging is not set up yet).
    pub(crate) fn from_env() -> Option<Traces> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        ENDPOINT_VARS.iter().find_map(|v| var(v))?;
        let service = var("OTEL_SERVICE_NAME")
            .or_else(|| var("BKPAAS_APP_ID"))
            .or_else(|| var("BKPAAS_APP_CODE"))
            .unwrap_or_else(|| "bk-plugin".to_owned());
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(client::ExportClient::new())
            .build();
        let exporter = match exporter {
            Ok(e) => e,
            Err(e) => {
                eprintln!("bk-plugin: traces are not exported: {e}");
                return None;
            }
        };
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service).build())
            .build();
        Some(Traces { provider })
    }

    /// The tracer the `tracing` layer records into.
    pub(crate) fn tracer(&self) -> opentelemetry_sdk::trace::Tracer {
        self.provider.tracer("bk-plugin-kit")
    }
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("bk-plugin: flushing traces failed: {e}");
        }
    }
}
