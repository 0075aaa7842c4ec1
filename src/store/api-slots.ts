import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolClient } from 'pg';
import { z } from 'zod';

/**
 * Concurrency slots shared by every worker process, as PostgreSQL session advisory locks. A slot is
 * held on a connection of its own for the length of one HTTP call; PostgreSQL drops a session's locks
 * when its connection ends, so a worker that dies (or loses the database) never leaks a slot.
 *
 * A scope (one API of one subscription, or the whole subscription) has `capacity` slots: lock keys
 * (hash(scope), 0 … capacity-1). Waiting is fair and never spins:
 *  - one slot: the waiter blocks in `pg_advisory_lock`, whose queue PostgreSQL serves first come, first
 *    served, and which hands the slot over the moment it is unlocked;
 *  - several slots: waiters queue the same way on the scope's gate (key (hash, -1)); only the head of that
 *    queue looks for a free slot, with jittered backoff, and lets the gate go once it has one.
 * A wait is cancelled with the caller's AbortSignal (the blocked query is cancelled with
 * pg_cancel_backend, and the connection is dropped).
 */

export interface SlotScope {
  /** Whose limits: API base URL and user name. */
  subscription: string;
  /** An API name, or '*' for the slot all APIs share. */
  scope: string;
  /** Slots in this scope (≥ 1). */
  capacity: number;
}

/**
 * A connection of the slot pool. It may take one slot; its queries are free for short work meanwhile.
 * `release` gives the slot back and the connection to the pool — or closes the connection, which gives
 * the slot back too, whenever anything went wrong on it. Never throws.
 */
export interface SlotConnection {
  readonly db: PoolClient;
  /** Waits for a slot of the scope; rejects with the signal's reason once it aborts. */
  take(scope: SlotScope, signal?: AbortSignal): Promise<void>;
  release(): Promise<void>;
}

export interface ApiSlotsOptions {
  connectionString: string;
  /** Sends pg_cancel_backend for a cancelled wait: the store's pool (never one a waiter may be holding). */
  canceller: Pool;
  /** Connections for held and waiting slots of this process (default 16); more waiters queue here, in order. */
  maxConnections?: number;
}

const GATE = -1;
const BACKOFF_FIRST_MS = 20;
const BACKOFF_MAX_MS = 500;

export class ApiSlots {
  readonly #pool: Pool;
  readonly #canceller: Pool;
  readonly #pids = new WeakMap<PoolClient, number>();

  constructor(options: ApiSlotsOptions) {
    this.#canceller = options.canceller;
    this.#pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 16,
      keepAlive: true,
      // Named so an operator (or a test) sees in pg_stat_activity which process holds which slot.
      application_name: `qualys-connector api-slots pid=${process.pid}`,
    });
    this.#pool.on('error', () => undefined);
  }

  /** A connection of the slot pool (waits for one, in order, when all are busy). */
  async open(signal?: AbortSignal): Promise<SlotConnection> {
    const db = await connect(this.#pool, signal);
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    db.on('error', onError);
    try {
      await this.prepare(db);
    } catch (err) {
      db.off('error', onError);
      db.release(true);
      throw err;
    }
    let released = false;
    return {
      db,
      take: async (scope, takeSignal) => {
        try {
          await this.takeSlot(db, scope, takeSignal);
        } catch (err) {
          // A cancelled wait may still be granted on the server: only closing the connection is sure.
          broken ??= err instanceof Error ? err : new Error(String(err));
          throw err;
        }
      },
      release: async () => {
        if (released) return;
        released = true;
        if (!broken) {
          try {
            await db.query('SELECT pg_advisory_unlock_all()');
          } catch (err) {
            broken = err instanceof Error ? err : new Error(String(err));
          }
        }
        db.off('error', onError);
        db.release(broken ?? false);
      },
    };
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  private async takeSlot(db: PoolClient, scope: SlotScope, signal: AbortSignal | undefined): Promise<void> {
    const key = scopeKey(scope);
    if (scope.capacity <= 1) {
      await this.waitForLock(db, key, 0, signal);
      return;
    }
    await this.waitForLock(db, key, GATE, signal);
    for (let attempt = 0; ; attempt++) {
      const { rows } = await db.query('SELECT api_slot_try_lock($1, $2) AS slot', [key, scope.capacity]);
      if (z.object({ slot: z.number().nullable() }).parse(rows[0]).slot !== null) break;
      // Full jitter between half and all of an exponential step: workers never poll in lockstep.
      const step = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
      await sleep(step / 2 + Math.random() * (step / 2), undefined, { signal }).catch((err: unknown) => {
        throw signal?.aborted ? signal.reason : err;
      });
    }
    await db.query('SELECT pg_advisory_unlock($1, $2)', [key, GATE]);
  }

  /** Blocks in PostgreSQL's lock queue; a cancelled wait is cancelled on the server too. */
  private async waitForLock(db: PoolClient, key: number, slot: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const pid = this.#pids.get(db);
    const onAbort = (): void => {
      if (pid !== undefined) this.#canceller.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await db.query('SELECT pg_advisory_lock($1, $2)', [key, slot]);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    // Granted as the wait was cancelled: the caller drops the connection, and with it the lock.
    signal?.throwIfAborted();
  }

  /** Once per connection: its server process (to cancel a wait) and its session settings. */
  private async prepare(db: PoolClient): Promise<void> {
    if (this.#pids.has(db)) return;
    // A slot's connection idles while its HTTP call runs: no server timeout may end it then.
    const { rows } = await db.query(`SELECT pg_backend_pid() AS pid, set_config('idle_session_timeout', '0', false)`);
    // A dead client's lock wait is then noticed by the server instead of lasting until it is granted
    // (not every platform has it; nothing depends on it).
    await db.query(`SELECT set_config('client_connection_check_interval', '5000', false)`).catch(() => undefined);
    this.#pids.set(db, z.object({ pid: z.number() }).parse(rows[0]).pid);
  }
}

/** The scope's advisory lock key (the slot is the second key): a collision only makes two scopes share slots. */
export function scopeKey(scope: Pick<SlotScope, 'subscription' | 'scope'>): number {
  return createHash('sha256').update(`${scope.subscription}\n${scope.scope}`).digest().readInt32BE(0);
}

/** pool.connect, given up when the signal aborts (a connection that arrives later goes straight back). */
async function connect(pool: Pool, signal: AbortSignal | undefined): Promise<PoolClient> {
  signal?.throwIfAborted();
  const connecting = pool.connect();
  if (!signal) return connecting;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([connecting, aborted]);
  } catch (err) {
    connecting.then((db) => db.release(), () => undefined);
    throw err;
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
