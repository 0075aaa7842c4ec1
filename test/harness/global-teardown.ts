import { rmSync } from 'node:fs';
import { stopEmbeddedPostgres } from '../../src/store/embedded-server';

export default async function globalTeardown(): Promise<void> {
  await globalThis.qualysTestDevServer?.stop();
  // Stopped by directory, not by handle: a test may have stopped and restarted it. Its files go too:
  // a test run leaves nothing behind on the machine.
  const pgDir = process.env.TEST_POSTGRES_DIR;
  if (pgDir) {
    await stopEmbeddedPostgres(pgDir);
    rmSync(pgDir, { recursive: true, force: true });
  }
}
