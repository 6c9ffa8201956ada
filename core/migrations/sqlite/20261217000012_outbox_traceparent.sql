-- The W3C trace context an event was written in (NULL when the writer was not tracing): the relay starts
-- its publish span in that trace without parsing the payload, which carries the same context for consumers.
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
ALTER TABLE outbox ADD COLUMN tracestate TEXT;
