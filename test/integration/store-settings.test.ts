import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { roleLoginSchema } from '../../src/store/embedded-roles';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../../src/store/embedded-server';
import { projectRoot } from '../../src/config/project-paths';
import { testDatabasePassword } from '../harness/database';

/** The production worker (or the demo) started with `databaseUrl`; it must stop at start. */
function start(program: 'worker' | 'demo', databaseUrl: string): Promise<{ code: number; output: string }> {
  const file = program === 'worker' ? ['worker', 'main.js'] : ['cli', 'demo.js'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot(), 'lib', 'src', ...file), ...(program === 'demo' ? ['--once'] : [])],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
          DATABASE_URL: databaseUrl,
          QUALYS_API_URL: 'http://127.0.0.1:9',
          QUALYS_USERNAME: 'u',
          QUALYS_PASSWORD: 'p',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

function testUrl(change: (url: URL) => void): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? '');
  change(url);
  return url.toString();
}

describe('a bad DATABASE_URL stops the worker and the demo at start with one line saying which part is wrong', () => {
  it.each([
    ['an unknown host', () => 'postgres://connector:Secret-Pa55@no-such-host.invalid:5432/qualys', /the host "no-such-host\.invalid" in DATABASE_URL does not resolve/],
    [
      'a wrong password',
      () => testUrl((u) => (u.password = 'Wrong-Pa55word')),
      /refused the login of user "connector".*wrong password or user/,
    ],
    ['no such database', () => testUrl((u) => (u.pathname = '/no_such_db')), /The database "no_such_db" does not exist.*CREATE DATABASE no_such_db/],
    ['nothing listening', () => testUrl((u) => (u.port = '9')), /nothing accepts connections at 127\.0\.0\.1:9/],
    ['not a URL', () => 'mysql://x', /DATABASE_URL is not a PostgreSQL URL/],
  ])('%s', async (_what, url, expected) => {
    const databaseUrl = url();
    const { code, output } = await start('worker', databaseUrl);
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(output).not.toContain('worker polling');
    // The demo checks the store before it starts anything else, and says the same.
    const demo = await start('demo', databaseUrl);
    expect(demo.code).toBe(1);
    expect(demo.output).toMatch(expected);
    expect(demo.output).not.toContain('Temporal dev server');
    // Neither the password given nor the real one is printed.
    const given = URL.canParse(databaseUrl) ? decodeURIComponent(new URL(databaseUrl).password) : '';
    for (const text of [output, demo.output]) {
      if (given) expect(text).not.toContain(given);
      expect(text).not.toContain(testDatabasePassword());
    }
  });
});

describe('the embedded PostgreSQL', () => {
  it('started by several processes at once: one initialises and starts it, the others use it; it stops cleanly', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-embedded-'));
    chmodSync(dir, 0o755); // the server runs as the postgres OS user when the tests run as root
    const servers = await Promise.all([1, 2, 3].map(() => ensureEmbeddedPostgres(dir)));
    try {
      expect(servers.filter((s) => s.startedHere)).toHaveLength(1);
      expect(new Set(servers.map((s) => s.url)).size).toBe(1);
      const client = new Client({ connectionString: servers[0].url });
      await client.connect();
      const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      await client.end();
      expect(Number(rows[0].v.split('.')[0])).toBeGreaterThanOrEqual(14);
    } finally {
      await stopEmbeddedPostgres(dir);
    }
    // Stopped: the next one to need it starts it again, on the same port when free.
    const again = await ensureEmbeddedPostgres(dir);
    try {
      expect(again.startedHere).toBe(true);
      expect(again.port).toBe(servers[0].port);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("runs with the connector's settings, and the operator's ALTER SYSTEM overrides them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qualys-embedded-'));
    chmodSync(dir, 0o755);
    const settings = async (url: string): Promise<Record<string, string>> => {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<Record<string, string>>(
          "SELECT current_setting('shared_buffers') AS shared_buffers, current_setting('wal_buffers') AS wal_buffers, current_setting('max_wal_size') AS max_wal_size",
        );
        return rows[0];
      } finally {
        await client.end();
      }
    };
    try {
      const first = await ensureEmbeddedPostgres(dir);
      expect(await settings(first.url)).toEqual({ shared_buffers: '256MB', wal_buffers: '16MB', max_wal_size: '8GB' });
      // An operator with a large estate raises the buffer pool as the cluster's superuser, then restarts.
      const superuser = roleLoginSchema.parse(JSON.parse(readFileSync(path.join(dir, 'superuser.json'), 'utf8')));
      const admin = new Client({ host: '127.0.0.1', port: first.port, user: superuser.user, password: superuser.password, database: 'postgres' });
      await admin.connect();
      await admin.query("ALTER SYSTEM SET shared_buffers = '384MB'");
      await admin.end();
      await stopEmbeddedPostgres(dir);
      const again = await ensureEmbeddedPostgres(dir);
      expect(again.startedHere).toBe(true);
      expect(await settings(again.url)).toEqual({ shared_buffers: '384MB', wal_buffers: '16MB', max_wal_size: '8GB' });
      // However often it started, postgresql.conf includes the connector's settings once.
      const conf = readFileSync(path.join(dir, 'cluster', 'postgresql.conf'), 'utf8').split('\n');
      expect(conf.filter((line) => line === "include_if_exists = 'connector-tuning.conf'")).toHaveLength(1);
    } finally {
      await stopEmbeddedPostgres(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
