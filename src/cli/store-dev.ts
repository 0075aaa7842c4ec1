import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataDir } from '../config/project-paths';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../store/embedded-server';
import { openStore } from '../store/open-store';
import { runCommand } from './cli-store';

const USAGE = `npm run store:dev [-- --stop]

Starts the embedded PostgreSQL (data in ./data/postgres) and keeps it up until Ctrl-C, so that the
demo, workers and the project's commands on this machine share it; prints its DATABASE_URL (for psql
or a worker). Already running: prints the URL and leaves it to whoever started it. --stop stops it.`;

runCommand(async () => {
  const { values } = parseArgs({ options: { stop: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const dir = path.join(defaultDataDir(), 'postgres');
  if (values.stop) {
    await stopEmbeddedPostgres(dir);
    console.log(`The embedded PostgreSQL in ${dir} is stopped.`);
    return;
  }
  const server = await ensureEmbeddedPostgres(dir);
  // Apply the schema now, so the first worker does not have to.
  const opened = await openStore({ databaseUrl: server.url, dataDir: defaultDataDir() });
  await opened.close();
  console.log(`DATABASE_URL=${server.url}`);
  if (!server.startedHere) {
    console.log(`(already running, started by another process; \`npm run store:dev -- --stop\` stops it)`);
    return;
  }
  console.log(`The embedded PostgreSQL is up (data in ${dir}). Press Ctrl-C to stop it.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  console.log('Stopped.');
});
