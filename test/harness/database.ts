import { Client, Pool } from 'pg';
import { createFreshDatabase } from '../../src/store/create-database';
import { ExposureStore } from '../../src/store/exposure-store';
import { migrate } from '../../src/store/migrations';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: integration tests need the jest global setup (run them with \`npm test\`)`);
  return value;
}

/** A new, empty database on the test PostgreSQL server, so each run starts from a clean store. */
export function freshDatabase(): Promise<string> {
  return createFreshDatabase(requiredEnv('TEST_DATABASE_URL'), 'test');
}

/**
 * A migrated store on a fresh database for a describe block: opened before its tests, closed after.
 * Read `pool` and `store` inside tests (they are set by then).
 */
export function useFreshStore(): { readonly pool: Pool; readonly store: ExposureStore } {
  let opened: { pool: Pool; store: ExposureStore } | undefined;
  beforeAll(async () => {
    const pool = new Pool({ connectionString: await freshDatabase() });
    await migrate(pool);
    opened = { pool, store: new ExposureStore(pool) };
  });
  afterAll(async () => opened?.pool.end());
  const get = (): { pool: Pool; store: ExposureStore } => {
    if (!opened) throw new Error('useFreshStore: the store opens in beforeAll; read it inside a test');
    return opened;
  };
  return {
    get pool() {
      return get().pool;
    },
    get store() {
      return get().store;
    },
  };
}

/** The test server's password: it must appear in no history, log, report or export. */
export function testDatabasePassword(): string {
  return decodeURIComponent(new URL(requiredEnv('TEST_DATABASE_URL')).password);
}

/** Every row of every table of the store's database, as text (for the secrets checks). */
export async function databaseAsText(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    const texts: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await client.query<{ t: string | null }>(`SELECT string_agg(x::text, E'\\n') AS t FROM ${client.escapeIdentifier(table_name)} x`);
      texts.push(rows[0]?.t ?? '');
    }
    return texts.join('\n');
  } finally {
    await client.end();
  }
}
