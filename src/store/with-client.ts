import type { Pool, PoolClient } from 'pg';

/**
 * Runs `body` with a client of the pool. A checked-out client whose server connection breaks between
 * two queries emits 'error' — unhandled, that would crash the worker — so it is caught here, the body's
 * next query fails instead, and the broken client is destroyed rather than returned to the pool.
 */
export async function withClient<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await body(client);
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/** Runs `body` in one transaction on a client of the pool: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, (client) => transactionOn(client, body));
}

/** Runs `body` in one transaction on `client` (a client the caller holds, e.g. after a step outside it). */
export async function transactionOn<T>(client: PoolClient, body: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
