import type { Pool, PoolClient } from 'pg';

/** A client of the pool, held until `release` gives it back. */
export interface CheckedOutClient {
  client: PoolClient;
  /**
   * Gives the client back (once; later calls do nothing). Given the error its work failed with, or when
   * its connection broke meanwhile, the client is destroyed rather than reused: that also rolls back
   * whatever transaction or COPY it was in.
   */
  release(error?: unknown): void;
}

/**
 * Takes a client of the pool for work that outlives one callback (e.g. a COPY fed while Qualys' body is
 * read). A checked-out client whose server connection breaks between two queries emits 'error' —
 * unhandled, that would crash the worker — so it is caught here, and the next query fails instead.
 */
export async function checkOut(pool: Pool): Promise<CheckedOutClient> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    release(error?: unknown): void {
      if (released) return;
      released = true;
      client.off('error', onError);
      client.release(error === undefined ? broken : error instanceof Error ? error : new Error(String(error)));
    },
  };
}

/** Runs `body` with a client of the pool (see `checkOut`); a client whose work failed is not reused. */
export async function withClient<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkOut(pool);
  try {
    const result = await body(client);
    release();
    return result;
  } catch (err) {
    release(err);
    throw err;
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
