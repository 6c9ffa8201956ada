//! W3C trace context along the event pipeline. An event carries the context it was written in (the
//! request's span, `CloudEvent::traceparent`, and its outbox row the same); the relay's publish span and
//! each consumer's span are children of it, so one trace shows a request and everything its events caused.
//! Spans become OpenTelemetry spans through `tracing-opentelemetry` once a process exports traces
//! (`todo_worker::process::init_tracing` calls [`enable`]); until then every function here returns at once.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use todo_core::events::{CloudEvent, TraceContext};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turn trace propagation on for this process (it exports spans): new events take the current span's
/// context from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
    todo_core::events::set_trace_context_source(current);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The current span's trace context, if it belongs to a trace.
pub fn current() -> Option<TraceContext> {
    if !enabled() {
        return None;
    }
    of_span(&Span::current())
}

/// `span`'s trace context, if it belongs to a trace.
pub fn of_span(span: &Span) -> Option<TraceContext> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    Some(TraceContext {
        traceparent: carrier.remove(TRACEPARENT)?,
        tracestate: carrier.remove(TRACESTATE).filter(|s| !s.is_empty()),
    })
}

/// Make `span` (not entered yet) a child of the remote span `parent` names; a malformed `traceparent` is
/// ignored, leaving `span` the root of a trace of its own.
pub fn set_parent(span: &Span, parent: &TraceContext) {
    if !enabled() {
        return;
    }
    let mut carrier = HashMap::from([(TRACEPARENT.to_owned(), parent.traceparent.clone())]);
    if let Some(state) = &parent.tracestate {
        carrier.insert(TRACESTATE.to_owned(), state.clone());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.span().span_context().is_valid() {
        // Fails only once the span has started, which a span given here has not.
        let _ = span.set_parent(context);
    }
}

/// The trace context in HTTP headers (`traceparent`, `tracestate`), if any.
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Option<TraceContext> {
    if !enabled() {
        return None;
    }
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Some(TraceContext {
        traceparent: value(TRACEPARENT)?,
        tracestate: value(TRACESTATE),
    })
}

/// The span of one consumer handling one event: a child of the delivery's `traceparent` header when
/// there is one (Dapr's span delivering the event, a child of the event's own context), else of the
/// context the event carries.
pub fn consumer_span(
    consumer: &str,
    topic: &str,
    event: &CloudEvent,
    delivery: Option<TraceContext>,
) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        parent: None,
        "consume",
        otel.name = format!("process {topic}"),
        otel.kind = "consumer",
        consumer,
        messaging.destination.name = topic,
        messaging.message.id = %event.id,
        event_type = %event.kind,
    );
    if let Some(parent) = delivery.or_else(|| event.trace_context()) {
        set_parent(&span, &parent);
    }
    span
}
