import { parseArgs } from 'node:util';
import type { PoolClient, QueryConfig, QueryResult } from 'pg';
import { withClient } from '../store/with-client';
import { openCliStore, runCommand } from './cli-store';

const USAGE = `npm run query -- [--write] "SQL"

Runs one SQL statement against the exposure store (DATABASE_URL, else the embedded PostgreSQL under
./data) and prints the rows as a table. For people without psql; the README lists tables and views.

The statement runs in a READ ONLY transaction: it reads, and anything that would change the store is
refused. --write runs it in a read-write transaction that is committed, and says so.`;

/** A mistake in what the user typed: said in one line, with what to do. */
class QueryUsageError extends Error {
  override readonly name = 'QueryUsageError';
}

// PostgreSQL's own refusals this command turns into advice.
const MULTIPLE_STATEMENTS = '42601';
const READ_ONLY_TRANSACTION = '25006';

/**
 * Runs `sql` as exactly one statement: the extended query protocol, which PostgreSQL refuses for
 * more than one (no splitting of SQL text here), in a READ ONLY transaction unless `write` — in which
 * a snapshot is taken first, so the statement itself cannot switch the transaction to read-write.
 */
async function runStatement(client: PoolClient, sql: string, write: boolean): Promise<QueryResult<Record<string, unknown>>> {
  const statement: QueryConfig & { queryMode: 'extended' } = { text: sql, queryMode: 'extended' };
  await client.query(write ? 'BEGIN READ WRITE' : 'BEGIN READ ONLY');
  try {
    if (!write) await client.query('SELECT 1');
    const result = await client.query<Record<string, unknown>>(statement);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (code === MULTIPLE_STATEMENTS && /multiple commands/.test(message)) {
      throw new QueryUsageError('npm run query runs one SQL statement, and this holds more than one: run them one at a time.');
    }
    if (code === READ_ONLY_TRANSACTION) {
      throw new QueryUsageError(`npm run query reads only (${message}). To change the store, run it again with --write: npm run query -- --write "…"`);
    }
    throw err;
  }
}

function printResult(result: QueryResult<Record<string, unknown>>): void {
  if (result.fields.length === 0) {
    // A statement without result columns (with --write: INSERT, UPDATE …): its command tag and count.
    console.log(`${result.command}${result.rowCount === null ? '' : ` ${result.rowCount}`}`);
    return;
  }
  if (result.rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  console.table(
    result.rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'object' && v !== null && !(v instanceof Date) ? JSON.stringify(v) : v])),
    ),
  );
}

runCommand(async () => {
  const { values, positionals } = parseArgs({
    options: { write: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const sql = positionals.join(' ').trim();
  if (!sql || values.help) {
    console.log(USAGE);
    return;
  }
  const opened = await openCliStore();
  try {
    const result = await withClient(opened.store.pool, (client) => runStatement(client, sql, values.write));
    printResult(result);
    if (values.write) console.log('(--write: the statement ran in a read-write transaction, which was committed)');
  } finally {
    await opened.close();
  }
});
