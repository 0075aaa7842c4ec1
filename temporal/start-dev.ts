import path from 'node:path';
import { defaultDataDir } from '../src/config/project-paths';
import { startDevServer } from './dev-server';

// `npm run temporal:dev`: a Temporal dev server for local use. Its SQLite file lives under the data
// directory, so runs, schedules and history survive a restart.
//   TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), TEMPORAL_IP (127.0.0.1), TEMPORAL_LOG_LEVEL (warn),
//   QUALYS_CONNECTOR_DATA_DIR (./data)
async function main(): Promise<void> {
  const dbFile = path.join(defaultDataDir(), 'temporal', 'dev-server.db');
  const server = await startDevServer({
    ip: process.env.TEMPORAL_IP ?? '127.0.0.1',
    port: Number(process.env.TEMPORAL_PORT ?? 7233),
    uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
    dbFile,
    logLevel: (process.env.TEMPORAL_LOG_LEVEL as 'warn' | undefined) ?? 'warn',
  });
  console.log(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
  console.log(`Web UI:              ${server.uiUrl}`);
  console.log(`Database:            ${dbFile}`);
  console.log('Press Ctrl-C to stop.');
  const stop = (): void => {
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  server.process.once('exit', (code) => {
    console.error(`the dev server exited (${code})`);
    process.exit(code ?? 1);
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
