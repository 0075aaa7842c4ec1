import { openCliStore, runCommand } from './cli-store';

const USAGE = `npm run query -- "SQL"

Runs one SQL statement against the exposure store (DATABASE_URL, else the embedded PostgreSQL under
./data) and prints the rows as a table. For people without psql; the README lists tables and views.`;

runCommand(async () => {
  const sql = process.argv.slice(2).join(' ').trim();
  if (!sql || sql === '--help') {
    console.log(USAGE);
    return;
  }
  const opened = await openCliStore();
  try {
    const { rows } = await opened.store.pool.query<Record<string, unknown>>(sql);
    if (rows.length === 0) console.log('(no rows)');
    else console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'object' && v !== null && !(v instanceof Date) ? JSON.stringify(v) : v]))));
  } finally {
    await opened.close();
  }
});
