import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import type { Duration } from '@temporalio/common';
import { SecretMasker, environmentSecrets } from '../config/secrets';
import { openActivityDeps } from './activity-deps';
import { createConnectorWorker } from './create-worker';
import { applyHeapSettings } from './heap-settings';
import { createLogger } from './loggers';
import { tracingFromEnvironment } from '../telemetry/tracing';
import { temporalSettingsFromEnv } from './temporal-settings';

const USAGE = `npm run worker -- [options]    (or: node lib/src/worker/main.js [options])

The Qualys connector worker. Every option has an environment variable; a flag wins over it.

  --address HOST:PORT          TEMPORAL_ADDRESS (localhost:7233)
  --namespace NS               TEMPORAL_NAMESPACE (default)
  --task-queue NAME            TEMPORAL_TASK_QUEUE (qualys-connector)
  --api-key-file FILE          TEMPORAL_API_KEY (Temporal Cloud; turns TLS on)
  --tls-cert FILE --tls-key FILE   TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH (mTLS)
  --tls-ca FILE                TEMPORAL_TLS_SERVER_CA_CERT_PATH
  --tls-server-name NAME       TEMPORAL_TLS_SERVER_NAME
  --metrics-address HOST:PORT  QUALYS_WORKER_METRICS_ADDRESS: serve Prometheus metrics at /metrics
  --shutdown-grace DURATION    QUALYS_WORKER_SHUTDOWN_GRACE (30s): on SIGTERM, how long in-flight steps may finish
  --log-format json|text       QUALYS_WORKER_LOG_FORMAT (json)
  --log-level LEVEL            QUALYS_WORKER_LOG_LEVEL (INFO): TRACE, DEBUG, INFO, WARN, ERROR

  --database-url URL           DATABASE_URL: the exposure store, any PostgreSQL ≥ 14 shared by every worker
                               (postgres://USER:PASSWORD@HOST:5432/DB?sslmode=verify-full&sslrootcert=FILE);
                               unset: the embedded PostgreSQL under QUALYS_CONNECTOR_DATA_DIR (./data/postgres),
                               started on demand (start it once with \`npm run store:dev\` to share it)

Qualys connections: QUALYS_API_URL, QUALYS_USERNAME, QUALYS_PASSWORD (profile "default") and/or
QUALYS_CONNECTIONS_FILE.

Traces (off by default): OTEL_EXPORTER_OTLP_ENDPOINT=http://COLLECTOR:4318 sends OpenTelemetry spans of
every run (workflow, activities, Qualys calls, store writes) as OTLP over HTTP/protobuf; the other
standard OTEL_* variables apply (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER …).`;

function readFlags(argv: string[]): NodeJS.ProcessEnv {
  const { values } = parseArgs({
    args: argv,
    options: {
      address: { type: 'string' },
      namespace: { type: 'string' },
      'task-queue': { type: 'string' },
      'api-key-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-server-name': { type: 'string' },
      'metrics-address': { type: 'string' },
      'shutdown-grace': { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      'database-url': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined) env[name] = value;
  };
  set('TEMPORAL_ADDRESS', values.address);
  set('TEMPORAL_NAMESPACE', values.namespace);
  set('TEMPORAL_TASK_QUEUE', values['task-queue']);
  if (values['api-key-file']) set('TEMPORAL_API_KEY', readFileSync(values['api-key-file'], 'utf8').trim());
  set('TEMPORAL_TLS_CLIENT_CERT_PATH', values['tls-cert']);
  set('TEMPORAL_TLS_CLIENT_KEY_PATH', values['tls-key']);
  set('TEMPORAL_TLS_SERVER_CA_CERT_PATH', values['tls-ca']);
  set('TEMPORAL_TLS_SERVER_NAME', values['tls-server-name']);
  set('QUALYS_WORKER_METRICS_ADDRESS', values['metrics-address']);
  set('QUALYS_WORKER_SHUTDOWN_GRACE', values['shutdown-grace']);
  set('QUALYS_WORKER_LOG_FORMAT', values['log-format']);
  set('QUALYS_WORKER_LOG_LEVEL', values['log-level']);
  set('DATABASE_URL', values['database-url']);
  return env;
}

// The production worker: wires settings, logging, metrics and the activities' dependencies, then serves
// the task queue until SIGINT/SIGTERM. On a signal it stops polling, lets in-flight steps finish within
// the grace period, and exits; a step cut off there is retried by another worker.
// What the last line of a worker that could not start may hold: settings of the environment.
let startMasker = new SecretMasker();

async function main(): Promise<void> {
  applyHeapSettings();
  const env = readFlags(process.argv.slice(2));
  startMasker = new SecretMasker(environmentSecrets(env));
  const settings = temporalSettingsFromEnv(env);
  const deps = await openActivityDeps({ env });
  const level = ((env.QUALYS_WORKER_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel) || 'INFO';
  const masker = deps.masker.with([settings.connectionOptions.apiKey]);
  const logger = createLogger(env.QUALYS_WORKER_LOG_FORMAT === 'text' ? 'text' : 'json', level, masker);
  const metricsAddress = env.QUALYS_WORKER_METRICS_ADDRESS;
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });

  const connection = await NativeConnection.connect(settings.connectionOptions).catch(async (err: unknown) => {
    await deps.close();
    throw err;
  });
  let tracing: ReturnType<typeof tracingFromEnvironment>;
  try {
    tracing = tracingFromEnvironment(env);
    const worker = await createConnectorWorker({
      connection,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      deps,
      tracing: tracing?.worker(),
      tuning: { shutdownGraceTime: (env.QUALYS_WORKER_SHUTDOWN_GRACE ?? '30s') as Duration },
    });
    logger.info(`worker polling task queue "${settings.taskQueue}" on ${settings.address} (namespace ${settings.namespace})`, {
      taskQueue: settings.taskQueue,
      namespace: settings.namespace,
      connections: deps.profiles.names(),
      store: deps.storeLocation,
      metrics: metricsAddress ? `http://${metricsAddress}/metrics` : undefined,
      // Where spans go (the endpoint only: OTEL_EXPORTER_OTLP_HEADERS may hold a collector's key).
      traces: tracing ? (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT) : 'off',
    });
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await tracing?.shutdown().catch(() => undefined);
    await connection.close();
    await deps.close();
  }
}

main().catch((err: unknown) => {
  console.error(startMasker.mask(err instanceof Error ? err.message : String(err)));
  process.exit(1);
});
