import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureEmbeddedPostgres } from '../../src/store/embedded-server';
import { StoreUnavailableError } from '../../src/store/errors';
import { folderBarring } from '../../src/store/server-user-access';

// As root the embedded PostgreSQL runs as the `postgres` OS user (created if missing), which must pass
// through every folder above its data directory. Only root can show it (the tests run as root in CI).
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('the embedded PostgreSQL under a folder its OS user cannot enter (as root)', () => {
  let outer: string;
  let failure: unknown;
  beforeAll(async () => {
    outer = mkdtempSync(path.join(tmpdir(), 'qualys-private-')); // 0700, as `mktemp -d` makes it
    failure = await ensureEmbeddedPostgres(path.join(outer, 'data', 'postgres')).then(
      async (started) => {
        await started.stop();
        return undefined;
      },
      (err: unknown) => err,
    );
  });
  afterAll(() => rmSync(outer, { recursive: true, force: true }));

  it('stops before initdb, naming the folder, why, and what to do', () => {
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect((failure as Error).message).toContain(
      `started as root, it runs as the OS user "postgres" (PostgreSQL refuses to run as root), and that user cannot enter ${outer} (mode 0700, owner uid 0). ` +
        `Either let it through (chmod o+x ${outer})`,
    );
    expect(existsSync(path.join(outer, 'data', 'postgres', 'cluster', 'PG_VERSION'))).toBe(false);
  });

  it('finds nothing in the way once the folder lets it through', async () => {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres']).toString());
    const postgres = { uid: id('-u'), gid: id('-g') };
    await expect(folderBarring(postgres, path.join(outer, 'data'))).resolves.toBe(outer);
    chmodSync(outer, 0o711);
    await expect(folderBarring(postgres, path.join(outer, 'data'))).resolves.toBeUndefined();
  });
});
