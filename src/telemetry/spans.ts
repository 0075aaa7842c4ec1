import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * The connector's own spans (Qualys calls, store writes), children of whatever span is active — the
 * activity's, when a traced worker runs them. Without a registered tracer provider (tracing off, the
 * default) the API hands out no-op spans that cost next to nothing.
 */
const tracer = () => trace.getTracer('qualys-exposure-connector');

/**
 * Runs `body` inside a span named `name`. A failure marks the span with the error's type and message —
 * the connector's errors are built without secrets (a Qualys error is masked before it leaves the
 * client), and no stack or cause is recorded. Callers put no credential in `attributes`.
 */
export function withSpan<T>(name: string, attributes: Attributes, body: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await body(span);
    } catch (error) {
      const type = error instanceof Error ? error.name : typeof error;
      const message = error instanceof Error ? error.message : String(error);
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.addEvent('exception', { 'exception.type': type, 'exception.message': message });
      throw error;
    } finally {
      span.end();
    }
  });
}
