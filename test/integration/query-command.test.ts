import { execFile } from 'node:child_process';
import path from 'node:path';
import { Pool } from 'pg';
import { projectRoot } from '../../src/config/project-paths';
import { migrate } from '../../src/store/migrations';
import { freshDatabase } from '../harness/database';

/** `npm run query -- …` as a user runs it (the compiled command), against `databaseUrl`. */
function query(databaseUrl: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(projectRoot(), 'lib', 'src', 'cli', 'query.js'), ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run query reads: one statement, in a read-only transaction', () => {
  let databaseUrl: string;
  let pool: Pool;
  const kbRows = async (): Promise<number> => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM knowledge_base')).rows[0]?.n);

  beforeAll(async () => {
    databaseUrl = await freshDatabase();
    pool = new Pool({ connectionString: databaseUrl });
    await migrate(pool);
    await pool.query(`INSERT INTO knowledge_base (connection, qid, cves, title) VALUES ('q', '6', '{}', 'DNS Host Name')`);
  });
  afterAll(async () => pool?.end());

  it('one statement: its rows as a table', async () => {
    const { code, stdout } = await query(databaseUrl, ['SELECT qid, title FROM knowledge_base']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/qid.*title/);
    expect(stdout).toContain('DNS Host Name');
  });

  it('two statements: a clear error, neither runs, no crash', async () => {
    const { code, stdout, stderr } = await query(databaseUrl, [`select 1 as a; DELETE FROM knowledge_base`]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('npm run query runs one SQL statement, and this holds more than one: run them one at a time.');
    expect(stdout).toBe('');
    expect(await kbRows()).toBe(1);
    expect((await query(databaseUrl, ['select 1 as a; select 2 as b'])).stderr).toContain('holds more than one');
  });

  it.each([
    ['a DELETE', 'DELETE FROM knowledge_base'],
    ['turning read-only off inside the statement', `SELECT count(*) FROM (SELECT 1) x, LATERAL (SELECT set_config('transaction_read_only', 'off', true)) y`],
    ['switching the transaction to read-write', 'SET TRANSACTION READ WRITE'],
    ['a table created', 'CREATE TABLE sneaky (x int)'],
  ])('a write without --write is refused, saying how to write: %s', async (_what, sql) => {
    const { code, stderr } = await query(databaseUrl, [sql]);
    expect(code).toBe(1);
    expect(stderr).not.toBe('');
    expect(await kbRows()).toBe(1);
    expect((await pool.query(`SELECT to_regclass('sneaky') AS t`)).rows[0]?.t).toBeNull();
    if (/DELETE|CREATE/.test(sql)) expect(stderr).toMatch(/npm run query reads only \(cannot execute .* in a read-only transaction\)\. To change the store, run it again with --write/);
  });

  it('--write writes, and says so', async () => {
    const { code, stdout } = await query(databaseUrl, ['--write', `UPDATE knowledge_base SET title = 'renamed' WHERE qid = '6'`]);
    expect(code).toBe(0);
    expect(stdout).toContain('UPDATE 1');
    expect(stdout).toContain('(--write: the statement ran in a read-write transaction, which was committed)');
    expect((await pool.query('SELECT title FROM knowledge_base')).rows[0]?.title).toBe('renamed');
    // Still one statement at a time.
    expect((await query(databaseUrl, ['--write', 'DELETE FROM knowledge_base; SELECT 1'])).code).toBe(1);
    expect(await kbRows()).toBe(1);
  });
});
