import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalCli, startDevServer, type RunningDevServer } from '../../temporal/dev-server';
import { buildWorkflowBundle } from '../../src/worker/build-workflow-bundle';
import { projectRoot } from '../../src/config/project-paths';
import { ensureEmbeddedPostgres, type EmbeddedPostgres } from '../../src/store/embedded-server';
import globalTeardown from './global-teardown';

const execFileAsync = promisify(execFile);

declare global {
  // Shared with global-teardown.ts (jest runs both in the parent process).
  var qualysTestDevServer: RunningDevServer | undefined;
  var qualysTestPostgres: EmbeddedPostgres | undefined;
}

/**
 * One real Temporal dev server (the pinned CLI, in-memory SQLite, Web UI on) and one real PostgreSQL
 * server (the embedded one, in a temporary directory; each test takes a fresh database of it) for the
 * whole test run, the project compiled to lib/ and the workflow code bundled once. Tests find them
 * through environment variables.
 */
export default async function globalSetup(): Promise<void> {
  try {
    await startServersAndBuild();
  } catch (error) {
    // Jest skips the teardown when the setup fails: stop what was started, or it outlives the run.
    await globalTeardown().catch(() => undefined);
    throw error;
  }
}

async function startServersAndBuild(): Promise<void> {
  const cliPath = await ensureTemporalCli();
  const started = Date.now();
  const server = await startDevServer({
    cliPath,
    port: 0,
    uiPort: 0,
    logLevel: 'error',
    stdio: 'ignore',
    // Lets a test provoke continue-as-new without a huge estate; ordinary runs stay far below it.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 4096 },
  });
  globalThis.qualysTestDevServer = server;
  const pgDir = mkdtempSync(path.join(os.tmpdir(), 'qualys-test-pg-'));
  chmodSync(pgDir, 0o755); // the server runs as the postgres OS user when the tests run as root
  const postgres = await ensureEmbeddedPostgres(pgDir);
  globalThis.qualysTestPostgres = postgres;
  process.env.TEST_DATABASE_URL = postgres.url;
  process.env.TEST_POSTGRES_DIR = pgDir;
  const serverReadyMs = Date.now() - started;
  // Compile once, as `npm run build` does: tests that run the worker as a real process (crash and
  // shutdown tests) start lib/src/worker/main.js, which loads the same prebuilt workflow bundle.
  await execFileAsync(path.join(projectRoot(), 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: projectRoot() });
  const bundle = await buildWorkflowBundle(path.join(projectRoot(), 'lib', 'workflow-bundle.js'));
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_TEMPORAL_NAMESPACE = server.namespace;
  process.env.TEST_TEMPORAL_UI_URL = server.uiUrl ?? '';
  process.env.TEST_TEMPORAL_CLI = cliPath;
  process.env.TEST_WORKFLOW_BUNDLE = bundle;
  console.error(`\n[harness] Temporal dev server at ${server.address} (UI ${server.uiUrl}) and PostgreSQL on port ${postgres.port} ready in ${serverReadyMs} ms; compiled and bundled in ${Date.now() - started - serverReadyMs} ms`);
}
