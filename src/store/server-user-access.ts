import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { StoreUnavailableError } from './errors';

const execFileAsync = promisify(execFile);

/** Whether the OS user can enter `dir` — the kernel's own answer (`test -x`, run as that user), ancestors included. */
async function canEnter(user: { uid: number; gid: number }, dir: string): Promise<boolean> {
  try {
    await execFileAsync('test', ['-x', dir], { uid: user.uid, gid: user.gid });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first folder on the way to `dir` that the OS user cannot enter, or undefined when it reaches
 * `dir`. (As root, the embedded PostgreSQL runs as the `postgres` user, which must pass through every
 * folder above its data directory — a `mktemp -d` folder, mode 0700, stops it.)
 */
export async function folderBarring(user: { uid: number; gid: number }, dir: string): Promise<string | undefined> {
  const target = path.resolve(dir);
  if (await canEnter(user, target)) return undefined;
  const chain: string[] = [];
  for (let folder = target; ; folder = path.dirname(folder)) {
    chain.unshift(folder);
    if (path.dirname(folder) === folder) break;
  }
  for (const folder of chain) if (!(await canEnter(user, folder))) return folder;
  return target;
}

/** Fails with what to do when the server's OS user cannot reach the data directory `dir`. */
export async function assertServerUserReaches(user: { uid: number; gid: number }, userName: string, dir: string): Promise<void> {
  const barring = await folderBarring(user, dir);
  if (barring === undefined) return;
  const info = await stat(barring).catch(() => undefined);
  const mode = info ? ` (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${info.uid})` : '';
  throw new StoreUnavailableError(
    `The embedded PostgreSQL cannot use its data directory ${path.resolve(dir)}: started as root, it runs as the OS user "${userName}" ` +
      `(PostgreSQL refuses to run as root), and that user cannot enter ${barring}${mode}. ` +
      `Either let it through (chmod o+x ${barring}), put the data directory where it can reach ` +
      '(QUALYS_CONNECTOR_DATA_DIR=/var/lib/qualys-connector, say), run as a user other than root, or set DATABASE_URL to a PostgreSQL of your own.',
  );
}
