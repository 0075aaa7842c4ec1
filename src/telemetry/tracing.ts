import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerOptions } from '@temporalio/worker';

/**
 * OpenTelemetry tracing of connector runs, through Temporal's interceptors: the client's start of a
 * run, the workflow (its spans leave the sandbox through the `exporter` sink), every activity, and —
 * as their children — every Qualys call and store write (src/telemetry/spans.ts). One run is one trace.
 *
 * Off by default. `tracingFromEnvironment` turns it on from the standard OTEL_* variables.
 */

const DEFAULT_SERVICE_NAME = 'qualys-exposure-connector';

/** The workflow interceptor module bundled with the workflow code (always: its spans go nowhere when tracing is off). */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

type WorkflowSinks = InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;

/** The worker options tracing sets: activity interceptors and the sink that receives the workflow's spans. */
export type TracingWorkerOptions = Pick<WorkerOptions, 'interceptors' | 'sinks'>;

export interface Tracing {
  worker(): TracingWorkerOptions;
  /** Interceptors for a Temporal Client whose runs should start their trace. */
  clientInterceptors(): { workflow: WorkflowClientInterceptor[] };
  /** Sends what is still buffered and unregisters the tracer. */
  shutdown(): Promise<void>;
}

/** Tracing off: the bundled workflow interceptor's spans are dropped by a sink that does nothing. */
export function untracedWorkerOptions(): TracingWorkerOptions {
  const sinks: WorkflowSinks = { exporter: { export: { fn: () => undefined } } };
  return { sinks };
}

/**
 * Registers a tracer provider (with an async-context manager, so spans nest across awaits, and the W3C
 * propagator Temporal's headers carry) that hands every span to `spanProcessor`.
 */
export function startTracing(spanProcessor: SpanProcessor, env: NodeJS.ProcessEnv = process.env): Tracing {
  const resource = new Resource({ 'service.name': DEFAULT_SERVICE_NAME }).merge(envDetectorSync.detect()).merge(
    env.OTEL_SERVICE_NAME ? new Resource({ 'service.name': env.OTEL_SERVICE_NAME }) : Resource.empty(),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  return {
    worker: () => {
      const sinks: WorkflowSinks = { exporter: makeWorkflowExporter(spanProcessor, resource) };
      return {
        sinks,
        interceptors: {
          activity: [
            (ctx) => ({
              inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
              outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
            }),
          ],
        },
      };
    },
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] }),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** A tracing setting that cannot work, named with what to change. */
export class TracingSettingsError extends Error {
  override readonly name = 'TracingSettingsError';
}

/**
 * Tracing from the standard variables: on when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names a collector, spans sent as OTLP over HTTP/protobuf in
 * batches; off when neither is set, or with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. The
 * exporter, batch processor and sampler read their own OTEL_* settings (headers, timeout, OTEL_BSP_*,
 * OTEL_TRACES_SAMPLER …); OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES describe the process.
 */
export function tracingFromEnvironment(env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporterName = (env.OTEL_TRACES_EXPORTER || 'otlp').trim().toLowerCase();
  if (exporterName === 'none') return undefined;
  if (exporterName !== 'otlp') {
    throw new TracingSettingsError(`OTEL_TRACES_EXPORTER=${exporterName} is not supported: the connector sends traces as OTLP (set it to otlp, or none to turn tracing off).`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim().toLowerCase();
  if (protocol !== 'http/protobuf') {
    throw new TracingSettingsError(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: the connector sends OTLP over HTTP/protobuf. Unset it (or set http/protobuf) and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's OTLP/HTTP port (usually 4318).`,
    );
  }
  return startTracing(new BatchSpanProcessor(new OTLPTraceExporter()), env);
}
