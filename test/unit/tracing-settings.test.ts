import { TracingSettingsError, tracingFromEnvironment } from '../../src/telemetry/tracing';

describe('tracing from the standard OTEL_* variables', () => {
  it('is off by default, and when told off', () => {
    expect(tracingFromEnvironment({})).toBeUndefined();
    expect(tracingFromEnvironment({ OTEL_SERVICE_NAME: 'connector' })).toBeUndefined();
    expect(tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it.each([{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }])(
    'is on when a collector is named (%o)',
    async (env) => {
      const tracing = tracingFromEnvironment(env);
      expect(tracing).toBeDefined();
      expect(tracing?.worker().interceptors?.activity).toHaveLength(1);
      expect(tracing?.clientInterceptors().workflow).toHaveLength(1);
      await tracing?.shutdown();
    },
  );

  it('refuses a protocol or exporter it cannot send, saying what to set', () => {
    expect(() => tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      new TracingSettingsError(
        'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: the connector sends OTLP over HTTP/protobuf. Unset it (or set http/protobuf) and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector\'s OTLP/HTTP port (usually 4318).',
      ),
    );
    expect(() => tracingFromEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(TracingSettingsError);
  });
});
