import { performance } from 'node:perf_hooks';
import type { ClientBase } from 'pg';

/**
 * The lease on a held slot. A slot is a session advisory lock, and the slot's session is set to end
 * on the server once it sits idle for the lease (`idle_session_timeout`, see api-slots.ts): a holder
 * that hangs, is paused by the OS or is cut off from the database stops sending queries, PostgreSQL
 * ends its session after the lease, and the lock — the slot — goes with it. A live holder keeps its
 * session busy with a query every quarter lease.
 *
 * The holder's side of the bargain: it counts its slot held only until `lease − margin` after it
 * *sent* the last query that succeeded (the server's idle clock starts after it answered, so never
 * earlier). Past that point the slot may already be someone else's, so the lease lapses: `signal`
 * aborts (the call in flight is abandoned) and `check()` throws (a call not yet sent is never sent).
 * Time is the monotonic clock, which runs on while the process is stopped, so a holder resumed with
 * SIGCONT sees at once that its lease ran out.
 */

/** The slot's lease ran out (or its session ended): its call must not be made, or is abandoned. */
export class SlotLeaseLapsedError extends Error {
  override readonly name = 'SlotLeaseLapsedError';
}

/** A holder counts its slot lost this share of the lease before the server may end its session. */
const MARGIN_SHARE = 0.2;
/** Renewals per lease: three may fail or be late before the lease lapses. */
const RENEWALS_PER_LEASE = 4;

export class SlotLease {
  readonly #db: ClientBase;
  readonly #leaseMs: number;
  readonly #controller = new AbortController();
  #deadline = -Infinity;
  #expiry: NodeJS.Timeout | undefined;
  #renewal: NodeJS.Timeout | undefined;
  #renewing = false;
  #stopped = false;

  constructor(db: ClientBase, leaseMs: number) {
    this.#db = db;
    this.#leaseMs = leaseMs;
  }

  /** Aborts, with a SlotLeaseLapsedError, once the lease has lapsed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Confirms the session is alive and keeps it so until `stop`; rejects if it is not. */
  async start(): Promise<void> {
    await this.#renew();
    this.check();
    this.#renewal = setInterval(() => {
      if (!this.#renewing) this.#renew().catch(() => undefined);
    }, this.#leaseMs / RENEWALS_PER_LEASE);
    this.#renewal.unref();
  }

  /** Throws SlotLeaseLapsedError when the lease has lapsed by now: call it right before sending. */
  check(): void {
    this.#expireIfDue();
    this.#controller.signal.throwIfAborted();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#renewal);
    clearTimeout(this.#expiry);
  }

  async #renew(): Promise<void> {
    this.#renewing = true;
    const sentAt = performance.now();
    try {
      await this.#db.query('SELECT 1');
    } catch (err) {
      this.#lapse(`its session failed (${err instanceof Error ? err.message : String(err)})`);
      throw this.#controller.signal.reason;
    } finally {
      this.#renewing = false;
    }
    if (this.#stopped || this.#controller.signal.aborted) return;
    this.#deadline = sentAt + this.#leaseMs * (1 - MARGIN_SHARE);
    this.#armExpiry();
  }

  /** A timer for the deadline. Timers keep whole milliseconds and may fire a little early: then re-arm. */
  #armExpiry(): void {
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => {
      this.#expireIfDue();
      if (!this.#stopped && !this.#controller.signal.aborted) this.#armExpiry();
    }, Math.max(1, Math.ceil(this.#deadline - performance.now())));
    this.#expiry.unref();
  }

  #expireIfDue(): void {
    if (!this.#stopped && performance.now() >= this.#deadline) this.#lapse('it ran out before its holder renewed it');
  }

  #lapse(why: string): void {
    if (this.#controller.signal.aborted) return;
    this.stop();
    this.#controller.abort(
      new SlotLeaseLapsedError(`The Qualys API slot's lease of ${Math.round(this.#leaseMs)} ms lapsed: ${why}. Another worker may hold the slot now.`),
    );
  }
}
