import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type PoolClient } from 'pg';
import { z } from 'zod';
import { SlotLease } from './slot-lease';

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
 *
 * A slot is freed:
 *  - at once when its holder's process dies (the kernel closes the connection, PostgreSQL ends the session);
 *  - within the lease when its holder hangs, is stopped or loses the database: the slot's session ends on
 *    the server once idle for the lease (`idle_session_timeout`, `idle_in_transaction_session_timeout`),
 *    and a live holder keeps it busy (slot-lease.ts), counting the slot its own only as long as the
 *    server must keep the session. Server-side TCP keepalives and `client_connection_check_interval`
 *    also end a session whose client vanished while it waits in a lock queue.
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
  /**
   * Starts the lease on the slot taken: from now on the slot counts as held only while the lease holds.
   * Rejects when the session is gone already (the slot may be another's).
   */
  hold(): Promise<SlotLease>;
  release(): Promise<void>;
}

export interface ApiSlotsOptions {
  connectionString: string;
  /** Sends pg_cancel_backend for a cancelled wait: the store's pool (never one a waiter may be holding). */
  canceller: Pool;
  /** Connections for held and waiting slots of this process (default 16); more waiters queue here, in order. */
  maxConnections?: number;
  /** How long a slot outlives a holder that stopped renewing it (default DEFAULT_SLOT_LEASE_MS); ≥ 1 s. */
  leaseMs?: number;
}

/** A hung or cut-off holder's slot is free again after at most this long (a quarter of the default heartbeat timeout). */
export const DEFAULT_SLOT_LEASE_MS = 30_000;
export const MIN_SLOT_LEASE_MS = 1_000;

const GATE = -1;
const BACKOFF_FIRST_MS = 20;
const BACKOFF_MAX_MS = 500;

export class ApiSlots {
  readonly #pool: Pool;
  readonly #canceller: Pool;
  readonly #pids = new WeakMap<PoolClient, number>();
  readonly #leaseMs: number;

  constructor(options: ApiSlotsOptions) {
    this.#canceller = options.canceller;
    this.#leaseMs = Math.max(MIN_SLOT_LEASE_MS, options.leaseMs ?? DEFAULT_SLOT_LEASE_MS);
    this.#pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 16,
      // The server ends a slot session idle for a lease: the pool lets idle ones go well before.
      idleTimeoutMillis: this.#leaseMs / 2,
      keepAlive: true,
      // Named so an operator (or a test) sees in pg_stat_activity which process holds which slot.
      application_name: `qualys-connector api-slots pid=${process.pid}`,
    });
    this.#pool.on('error', () => undefined);
  }

  /**
   * A connection of the slot pool (waits for one, in order, when all are busy), whose session the server
   * ends once idle for `leaseMs` (never longer than the pool's lease) while it is out of the pool.
   */
  async open(signal?: AbortSignal, leaseMs?: number): Promise<SlotConnection> {
    const leaseFor = Math.round(Math.max(MIN_SLOT_LEASE_MS, Math.min(leaseMs ?? this.#leaseMs, this.#leaseMs)));
    const db = await connect(this.#pool, signal);
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    db.on('error', onError);
    try {
      await this.prepare(db);
      if (leaseFor !== this.#leaseMs) await setLease(db, leaseFor);
    } catch (err) {
      db.off('error', onError);
      db.release(true);
      throw err;
    }
    let released = false;
    let lease: SlotLease | undefined;
    return {
      db,
      hold: async () => {
        lease = new SlotLease(db, leaseFor);
        try {
          await lease.start();
        } catch (err) {
          broken ??= err instanceof Error ? err : new Error(String(err));
          throw err;
        }
        return lease;
      },
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
        lease?.stop();
        // A lapsed lease: the session may be gone, or about to be; never hand it to the next caller.
        if (lease?.signal.aborted) broken ??= lease.signal.reason instanceof Error ? lease.signal.reason : new Error('lease lapsed');
        if (!broken) {
          try {
            await db.query('SELECT pg_advisory_unlock_all()');
            // Back in the pool, the session lives as long as the pool keeps idle ones.
            if (leaseFor !== this.#leaseMs) await setLease(db, this.#leaseMs);
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
    const { rows } = await db.query('SELECT pg_backend_pid() AS pid');
    this.#pids.set(db, z.object({ pid: z.number() }).parse(rows[0]).pid);
    await setLease(db, this.#leaseMs);
    // A client that vanished while its session waits in a lock queue (active, so no idle timeout) is
    // noticed by the server's keepalives and connection checks. Not every platform has every one of them
    // (the server refuses the ones it lacks); the lease does not depend on them.
    const keepaliveSeconds = String(Math.max(1, Math.round(this.#leaseMs / 4000)));
    for (const [name, value] of [
      ['client_connection_check_interval', String(Math.max(1000, Math.round(this.#leaseMs / 4)))],
      ['tcp_keepalives_idle', keepaliveSeconds],
      ['tcp_keepalives_interval', keepaliveSeconds],
      ['tcp_keepalives_count', '3'],
      ['tcp_user_timeout', String(Math.round(this.#leaseMs))],
    ]) {
      await db.query('SELECT set_config($1, $2, false)', [name, value]).catch(() => undefined);
    }
  }
}

/** The lease, enforced by the server: a session its holder stopped using ends, and its locks with it. */
async function setLease(db: PoolClient, leaseMs: number): Promise<void> {
  const lease = `${Math.round(leaseMs)}ms`;
  await db.query(`SELECT set_config('idle_session_timeout', $1, false), set_config('idle_in_transaction_session_timeout', $1, false)`, [lease]);
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
