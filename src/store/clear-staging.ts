import type { PoolClient } from 'pg';

/** Removes what runs staged (fetched pages, mapped records, call logs); run rows and reports stay. */
export async function clearStaging(client: PoolClient, runKeys: readonly string[]): Promise<void> {
  for (const table of ['staged_fetches', 'staged_assets', 'staged_findings', 'staged_additions', 'run_calls', 'run_hosts']) {
    await client.query(`DELETE FROM ${table} WHERE run_key = ANY($1)`, [runKeys]);
  }
}
