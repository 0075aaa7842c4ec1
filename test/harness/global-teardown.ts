import { stopEmbeddedPostgres } from '../../src/store/embedded-server';

export default async function globalTeardown(): Promise<void> {
  await globalThis.qualysTestDevServer?.stop();
  // Stopped by directory, not by handle: a test may have stopped and restarted it.
  if (process.env.TEST_POSTGRES_DIR) await stopEmbeddedPostgres(process.env.TEST_POSTGRES_DIR);
}
