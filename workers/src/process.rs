//! Process plumbing shared by `todo-api` and `todo-worker`: logging, trace export and shutdown signals.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use todo_contract::env;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// The process's trace exporter, if it exports traces.
#[must_use = "call shutdown before the process exits, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Send the spans still buffered (the exporter batches them for up to 5 s).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace export did not shut down cleanly: {e}");
        }
    }
}

/// Log to stdout as text or JSON (`TODO_LOG_FORMAT`), at the level `RUST_LOG` asks for. With
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans at info and above are also exported over OTLP
/// (`OTEL_EXPORTER_OTLP_PROTOCOL`) as `OTEL_SERVICE_NAME` (default `service`, the binary's name), sampled
/// as `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` say (default: every trace whose caller did not
/// decline it). Without the endpoint, logging is set up as it always was, with no OpenTelemetry layer.
pub fn init_tracing(format: &str, service: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let provider = match tracer_provider(service) {
        Ok(provider) => provider,
        Err(e) => {
            eprintln!("traces are not exported: {e}");
            None
        }
    };
    let Some(provider) = provider else {
        let builder = tracing_subscriber::fmt().with_env_filter(filter);
        if format == "json" {
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .init();
        } else {
            builder.init();
        }
        return Telemetry { provider: None };
    };
    let fmt = tracing_subscriber::fmt::layer();
    let fmt = if format == "json" {
        fmt.json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed()
    } else {
        fmt.boxed()
    };
    // Exported spans do not follow RUST_LOG: turning logs down must not cut traces apart.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("todoplatform"))
        .with_filter(LevelFilter::INFO);
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .init();
    todo_events::trace::enable();
    Telemetry {
        provider: Some(provider),
    }
}

/// The OTLP exporter the environment asks for, or `None` when it names no endpoint.
fn tracer_provider(service: &str) -> Result<Option<SdkTracerProvider>, String> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if set(env::OTEL_EXPORTER_OTLP_ENDPOINT).is_none() {
        return Ok(None);
    }
    let protocol = set(env::OTEL_EXPORTER_OTLP_PROTOCOL).unwrap_or_else(|| "http/protobuf".into());
    // The exporter reads the endpoint and headers itself (and OpenTelemetry's other OTLP variables).
    let exporter = match protocol.as_str() {
        "http/protobuf" => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build(),
        "grpc" => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build(),
        other => {
            return Err(format!(
                "{} is {other:?}; supported: \"http/protobuf\", \"grpc\"",
                env::OTEL_EXPORTER_OTLP_PROTOCOL
            ));
        }
    }
    .map_err(|e| e.to_string())?;
    let named = set(env::OTEL_SERVICE_NAME).is_some()
        || set(env::OTEL_RESOURCE_ATTRIBUTES).is_some_and(|a| a.contains("service.name="));
    let resource = if named {
        Resource::builder().build()
    } else {
        Resource::builder()
            .with_service_name(service.to_owned())
            .build()
    };
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// Kubernetes stops a pod with SIGTERM; Ctrl-C stops a local run. Either lets in-flight work finish.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
