import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { startSimulator, type RunningSimulator } from '../../simulator';
import { ensureTemporalCli, startDevServer, type RunningDevServer } from '../../temporal/dev-server';
import { ConnectionProfiles } from '../config/connections';
import { defaultDataDir } from '../config/project-paths';
import { SecretMasker, environmentSecrets, redactUrl } from '../config/secrets';
import { openStore } from '../store/open-store';
import { openActivityDeps } from '../worker/activity-deps';
import { createConnectorWorker } from '../worker/create-worker';
import { createLogger } from '../worker/loggers';
import { applyHeapSettings } from '../worker/heap-settings';
import { tracingFromEnvironment } from '../telemetry/tracing';
import { TASK_QUEUE } from '../worker/temporal-settings';
import { formatReport, watchRun } from './watch-run';
import { completedSync } from '../workflows/sync-result';

const USAGE = `npm run demo -- [options]

The main job on the embedded default: starts a Temporal dev server (SQLite under ./data, Web UI on),
the exposure store (the embedded PostgreSQL under ./data/postgres, unless DATABASE_URL names one),
the Qualys simulator (unless QUALYS_API_URL/QUALYS_USERNAME/QUALYS_PASSWORD name a real subscription),
a worker, and one connector run; shows its progress and ends with a summary, the Web UI link and how
to query the result. The stack then stays up for more runs until Ctrl-C.

Options:
  --once              exit after the run, with status 0 if it completed and 1 if it failed (for scripts/CI)
  --hosts N           simulated estate size (default 2000)
  --page-size N       hosts per page (default 500)
  --port N            Temporal gRPC port (default 7233)
  --ui-port N         Temporal Web UI port (default 8233)
  --help`;

interface DemoOptions {
  once: boolean;
  hosts: number;
  pageSize: number;
  port: number;
  uiPort: number;
}

function parseOptions(): DemoOptions {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      hosts: { type: 'string', default: '2000' },
      'page-size': { type: 'string', default: '500' },
      port: { type: 'string', default: process.env.TEMPORAL_PORT ?? '7233' },
      'ui-port': { type: 'string', default: process.env.TEMPORAL_UI_PORT ?? '8233' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (name: string, value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, not "${value}"`);
    return n;
  };
  return {
    once: values.once,
    hosts: int('hosts', values.hosts),
    pageSize: int('page-size', values['page-size']),
    port: int('port', values.port),
    uiPort: int('ui-port', values['ui-port']),
  };
}

async function main(): Promise<number> {
  const options = parseOptions();
  // The demo's worker runs in this process: the same V8 settings as a production worker.
  applyHeapSettings();
  const dataDir = defaultDataDir();
  const stack: Array<() => Promise<void>> = [];
  const shutdown = async (): Promise<void> => {
    for (const stop of stack.reverse()) await stop().catch(() => undefined);
  };

  try {
    // The store and the Temporal dev server need nothing from each other: the embedded PostgreSQL, which
    // takes a while to start, starts side by side with the dev server. A DATABASE_URL is checked (one
    // connection) before anything else starts, so a mistake in it stops the demo at once.
    const databaseUrl = process.env.DATABASE_URL || undefined;
    const openingStore = openStore({ databaseUrl, dataDir });
    if (databaseUrl !== undefined) await openingStore;
    const cliPath = await ensureTemporalCli();
    step('Exposure store (PostgreSQL) and Temporal dev server, side by side');
    const [storeStart, serverStart] = await Promise.allSettled([
      openingStore,
      startDevServer({ cliPath, port: options.port, uiPort: options.uiPort, dbFile: path.join(dataDir, 'temporal', 'dev-server.db'), stdio: 'ignore' }),
    ]);
    if (storeStart.status === 'fulfilled') stack.push(() => storeStart.value.close());
    if (serverStart.status === 'fulfilled') stack.push(() => serverStart.value.stop());
    // Either failing stops the demo (and what did start); a bad DATABASE_URL is named first.
    if (storeStart.status === 'rejected') throw storeStart.reason;
    if (serverStart.status === 'rejected') throw serverStart.reason;
    const store = storeStart.value;
    const server: RunningDevServer = serverStart.value;
    done('');
    console.log(`  store:  ${store.location}\n  server: ${server.address}, Web UI ${server.uiUrl}`);

    let profiles: ConnectionProfiles;
    let connectionName: string;
    // When the run's first Qualys call arrived (epoch ms), known when the simulator answers it.
    let firstQualysCallAt = (): number | undefined => undefined;
    if (process.env.QUALYS_API_URL) {
      profiles = ConnectionProfiles.fromEnvironment();
      connectionName = 'default';
      step(`Qualys: using ${redactUrl(process.env.QUALYS_API_URL)} (connection "default")`);
      done('');
    } else {
      step('Qualys simulator');
      const simulator: RunningSimulator = await startSimulator({ hosts: options.hosts, seed: 1, latencyMs: 40 });
      stack.push(() => simulator.close());
      firstQualysCallAt = () => simulator.stats().requests[0]?.at;
      profiles = ConnectionProfiles.of({
        name: 'demo',
        apiUrl: simulator.url,
        username: simulator.username,
        password: simulator.password,
      });
      connectionName = 'demo';
      done(`${simulator.url}, ${options.hosts} hosts (connection "demo")`);
    }

    // Traces when OTEL_EXPORTER_OTLP_ENDPOINT names a collector (see the README, "Traces").
    const tracing = tracingFromEnvironment();
    if (tracing) stack.push(() => tracing.shutdown());
    const deps = await openActivityDeps({ profiles, store });
    // Installed once the worker's secrets are known, so the SDK's log lines go through their masking.
    Runtime.install({ logger: createLogger('text', 'WARN', deps.masker) });
    step(`Worker on task queue "${TASK_QUEUE}"`);
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const worker = await createConnectorWorker({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue: TASK_QUEUE,
      deps,
      tracing: tracing?.worker(),
    });
    const workerRun = worker.run();
    stack.push(async () => {
      worker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await deps.close();
    });
    done('polling');

    const connection = await Connection.connect({ address: server.address });
    stack.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace, interceptors: tracing?.clientInterceptors() });
    const workflowId = `qualys-sync-${connectionName}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start('qualysSync', {
      taskQueue: TASK_QUEUE,
      workflowId,
      args: [{ connection: connectionName, pageSize: options.pageSize }],
      staticSummary: `Qualys sync of connection ${connectionName} (auto, started by the demo)`,
    });
    const runUrl = `${server.uiUrl}/namespaces/${server.namespace}/workflows/${workflowId}`;
    console.log(`\nConnector run ${workflowId}`);
    console.log(`  watch it live: ${runUrl}\n`);

    let status = 0;
    try {
      const result = completedSync(await watchRun(handle));
      console.log('\nRun completed');
      const report = await deps.store.readReport(result.runKey);
      if (report) console.log(formatReport(report));
      console.log(`  store:      ${deps.storeLocation} (run ${result.runKey})`);
      const firstCall = firstQualysCallAt();
      if (firstCall !== undefined) console.log(`  startup:    the first Qualys call ${((firstCall - performance.timeOrigin) / 1000).toFixed(1)} s after the demo started`);
      console.log(`
Query the result (the tables and views are in the README):
  npm run query -- "SELECT hostname, criticality, operating_system FROM asset_details WHERE connection = '${connectionName}' AND status = 'active' ORDER BY criticality DESC NULLS LAST LIMIT 5"
  npm run query -- "SELECT cve, count(*) AS assets FROM current_findings WHERE connection = '${connectionName}' AND status = 'open' GROUP BY cve ORDER BY assets DESC LIMIT 5"
  npm run export -- --connection ${connectionName} --out ./export      (assets.jsonl, findings.jsonl; --format ocsf for OCSF)`);
    } catch (err) {
      status = 1;
      console.error(`\nRun failed: ${describeFailure(err)}`);
    }
    console.log(`  Web UI:     ${runUrl}`);

    if (!options.once) {
      console.log(`
The stack stays up. In a second terminal, start another run with the Temporal CLI:

  export PATH="$PWD/temporal/shim:$PATH"
  temporal workflow start --type qualysSync --task-queue ${TASK_QUEUE} --input '{"connection":"${connectionName}"}'

and watch it at ${server.uiUrl}/namespaces/${server.namespace}/workflows. Press Ctrl-C to stop everything.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      console.log('\nStopping…');
    }
    await shutdown();
    return status;
  } catch (err) {
    await shutdown();
    throw err;
  }
}

function step(what: string): void {
  process.stdout.write(`• ${what} … `);
}

function done(detail: string): void {
  process.stdout.write(`${detail || 'ok'}\n`);
}

function describeFailure(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  // WorkflowFailedError says "Workflow execution failed"; the cause chain says why.
  let cause = err instanceof Error ? err.cause : undefined;
  while (cause instanceof Error) {
    message = cause.message;
    cause = cause.cause;
  }
  return message;
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    console.error(`\n${new SecretMasker(environmentSecrets(process.env)).mask(err instanceof Error ? err.message : String(err))}`);
    process.exit(1);
  },
);
