import { Pool } from 'pg';
import { MIGRATIONS, inVersionOrder, migrate } from '../../src/store/migrations';
import { freshDatabase } from '../harness/database';

const migration = (version: number) => ({ version, name: `m${version}`, sql: `CREATE TABLE m${version} (id integer)` });

describe('schema migrations merged out of order (real PostgreSQL)', () => {
  it('a lower version landing after a higher one is still applied, once, and versions are unique', async () => {
    const pool = new Pool({ connectionString: await freshDatabase() });
    try {
      // Deployed with 1 and 3 (say, version 2's branch had not merged yet) …
      expect(await migrate(pool, [migration(1), migration(3)])).toEqual([1, 3]);
      // … then the code with 2 arrives, listed after 3: 2 is applied, nothing else again.
      expect(await migrate(pool, [migration(1), migration(3), migration(2)])).toEqual([2]);
      expect(await migrate(pool, [migration(3), migration(2), migration(1)])).toEqual([]);
      const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3]);
    } finally {
      await pool.end();
    }
    expect(() => inVersionOrder([migration(2), migration(2)])).toThrow('Two migrations have version 2');
    expect(inVersionOrder(MIGRATIONS).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
  });
});
