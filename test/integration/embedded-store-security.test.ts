import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chown } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { binaries, ensureEmbeddedPostgres, runAs, serverUser, stopEmbeddedPostgres } from '../../src/store/embedded-server';
import { RETIRED_BOOTSTRAP_ROLE } from '../../src/store/embedded-roles';
import { migrate } from '../../src/store/migrations';
import { openStore } from '../../src/store/open-store';
import { freshDatabase } from '../harness/database';

/** What the connector's role may do on a database it created: nothing that reaches the server's OS user. */
async function expectUnprivileged(url: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolsuper: boolean; owns: boolean }>(
      `SELECT r.rolsuper, d.datdba = r.oid AS owns FROM pg_roles r, pg_database d
        WHERE r.rolname = current_user AND d.datname = current_database()`,
    );
    expect(rows[0]).toEqual({ rolsuper: false, owns: true });
    const marker = path.join(os.tmpdir(), `qualys-copy-program-${process.pid}`);
    for (const sql of [
      `COPY (SELECT 1) TO PROGRAM 'id > ${marker}'`,
      `SELECT pg_read_file('/etc/hostname')`,
      `SELECT pg_read_binary_file('/proc/self/environ')`,
      `COPY (SELECT 1) TO '${marker}'`,
      `SELECT pg_ls_dir('.')`,
    ]) {
      await expect(client.query(sql)).rejects.toMatchObject({ code: '42501' });
    }
    expect(() => readFileSync(marker)).toThrow();
  } finally {
    await client.end();
  }
}

function postmasterEnvironment(cluster: string): string {
  const pid = readFileSync(path.join(cluster, 'postmaster.pid'), 'utf8').split('\n')[0];
  return readFileSync(`/proc/${pid}/environ`, 'utf8');
}

function temporaryDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-embedded-secure-'));
  chmodSync(dir, 0o755); // the server runs as the postgres OS user when the tests run as root
  return dir;
}

describe('the embedded PostgreSQL is not a way into the worker', () => {
  it("the connector's role is no superuser: COPY … TO PROGRAM, pg_read_file and server files are refused; it owns the databases it creates", async () => {
    await expectUnprivileged(await freshDatabase());
  });

  it("the server's environment holds no Qualys setting and no DATABASE_URL, whatever its starter's holds", async () => {
    const dir = temporaryDir();
    const saved = { ...process.env };
    Object.assign(process.env, {
      QUALYS_PASSWORD: 'Env-Secret-Pa55',
      QUALYS_API_URL: 'https://qualysapi.example.com',
      QUALYS_USERNAME: 'env_user',
      DATABASE_URL: 'postgres://u:Db-Secret-Pa55@127.0.0.1/x',
      SOME_TOKEN: 'Other-Secret-77',
    });
    try {
      const server = await ensureEmbeddedPostgres(dir);
      expect(server.startedHere).toBe(true);
      const environment = postmasterEnvironment(path.join(dir, 'cluster'));
      expect(environment).not.toMatch(/QUALYS_|DATABASE_URL|SOME_TOKEN/);
      for (const secret of ['Env-Secret-Pa55', 'Db-Secret-Pa55', 'Other-Secret-77', server.password]) expect(environment).not.toContain(secret);
      // The superuser's password is in a file only its owner reads, and is not the connector's.
      const superuser = JSON.parse(readFileSync(path.join(dir, 'superuser.json'), 'utf8')) as { user: string; password: string };
      expect(superuser.password).not.toBe(server.password);
      for (const file of ['superuser.json', 'connection.json']) {
        expect(statSync(path.join(dir, file)).mode & 0o077).toBe(0);
      }
      await expectUnprivileged(server.url);
    } finally {
      process.env = saved;
      await stopEmbeddedPostgres(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a data directory of an earlier version (the connector as bootstrap superuser) is upgraded in place, its data kept', async () => {
    const dir = temporaryDir();
    const cluster = path.join(dir, 'cluster');
    const user = await serverUser();
    const legacy = { user: 'connector', password: 'Legacy-Pa55word', database: 'qualys_connector' };
    // What an earlier version left: initdb with the connector as superuser, its store migrated, a run.
    const pwfile = path.join(os.tmpdir(), `qualys-legacy-pw-${process.pid}`);
    writeFileSync(pwfile, `${legacy.password}\n`, { mode: 0o600 });
    mkdirSync(cluster, { mode: 0o700 });
    if (user) {
      await chown(cluster, user.uid, user.gid);
      await chown(pwfile, user.uid, user.gid);
    }
    const { initdb, pgCtl } = binaries();
    await runAs(user, initdb, [`--pgdata=${cluster}`, '--username=connector', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C']);
    rmSync(pwfile);
    writeFileSync(path.join(dir, 'connection.json'), JSON.stringify(legacy), { mode: 0o600 });
    const port = await freePort();
    await runAs(user, pgCtl, ['start', '--pgdata', cluster, '--wait', '--log', path.join(cluster, 'legacy.log'), '--options', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`]);
    const legacyUrl = (database: string): string => `postgres://connector:${legacy.password}@127.0.0.1:${port}/${database}`;
    try {
      const admin = new Client({ connectionString: legacyUrl('postgres') });
      await admin.connect();
      await admin.query('CREATE DATABASE qualys_connector');
      await admin.end();
      const pool = new Pool({ connectionString: legacyUrl('qualys_connector') });
      await migrate(pool);
      await pool.query(`INSERT INTO knowledge_base (connection, qid, cves) VALUES ('kept', '1', '{}')`);
      await pool.end();
    } finally {
      await runAs(user, pgCtl, ['stop', '--pgdata', cluster, '--mode=fast', '--wait']);
    }

    const server = await ensureEmbeddedPostgres(dir);
    try {
      expect(server.url).toContain(`connector:${legacy.password}@`);
      await expectUnprivileged(server.url);
      // The store opens (migrations as the new owner), and its data is there and writable.
      const opened = await openStore({ databaseUrl: server.url, dataDir: dir });
      try {
        const { rows } = await opened.store.pool.query<{ connection: string }>('SELECT connection FROM knowledge_base');
        expect(rows).toEqual([{ connection: 'kept' }]);
        await opened.store.pool.query(`UPDATE knowledge_base SET connection = 'still kept'`);
        const { rows: foreign } = await opened.store.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
        );
        expect(foreign[0]?.n).toBe('0');
      } finally {
        await opened.close();
      }
      // The old superuser cannot log in any more, with the password it had.
      const old = new Client({ connectionString: `postgres://${RETIRED_BOOTSTRAP_ROLE}:${legacy.password}@127.0.0.1:${server.port}/postgres` });
      await expect(old.connect()).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await server.stop();
    }
    // A second start finds it upgraded and changes nothing.
    const again = await ensureEmbeddedPostgres(dir);
    try {
      await expectUnprivileged(again.url);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
