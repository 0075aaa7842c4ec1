import { describePause, type BudgetState } from './api-pacing';
import { admitCallInStore, readCallPlan, recordAnswer } from './api-limits-table';
import type { ApiSlots } from './api-slots';
import type { SlotLease } from './slot-lease';

/**
 * The guard every Qualys HTTP call passes, shared by all workers through the store:
 *
 *  - **Concurrency**: at most (limit − 1) calls in flight per API of a subscription, one slot kept free for
 *    the customer's other tools; with a limit of 1, one slot shared by every API of the subscription (so a
 *    page's Host List, Host List Detection and hostasset calls run one after another). The limit is the
 *    `X-Concurrency-Limit-Limit` any worker last saw for the API (else for the subscription, else 2).
 *  - **Rate**: the call is not sent while the API's budget is visibly spent (see api-pacing.ts); the
 *    caller gets an ApiBudgetExhaustedError with the wait instead.
 *
 * One `enter` per HTTP call, and exactly one `leave` once its response has been read. The slot is leased
 * (slot-lease.ts): the call is sent only after `lease.check()` passes, and abandoned when `lease.signal`
 * aborts, so a holder that hung past its lease never calls on a slot another worker may have taken.
 */

/** A subscription's limits are Qualys' per (API base URL, user name); the password never takes part. */
export function subscriptionKey(baseUrl: string, username: string): string {
  return `${username}@${baseUrl}`;
}

/** What one response said about the limits (its `X-RateLimit-*` / `X-Concurrency-Limit-*`, or a 1965's wait). */
export interface ApiAnswer {
  concurrencyLimit?: number;
  rateLimit?: number;
  windowSeconds?: number;
  remaining?: number;
  toWaitSeconds?: number;
}

export interface GuardedCall {
  /** The slot's lease: check it right before sending; abandon the call when its signal aborts. */
  lease: Pick<SlotLease, 'signal' | 'check'>;
  /** Records what the response said and gives the slot back; never throws. */
  leave(answer?: ApiAnswer): Promise<void>;
}

/** The API's rate budget is spent: no call was made; try again in `waitSeconds`. */
export class ApiBudgetExhaustedError extends Error {
  override readonly name = 'ApiBudgetExhaustedError';

  constructor(
    readonly api: string,
    readonly waitSeconds: number,
    readonly reason: string,
  ) {
    super(`${reason}; no call was made, the next one may go in ${waitSeconds} s`);
  }
}

export class ApiGuard {
  constructor(private readonly slots: ApiSlots) {}

  /**
   * Waits for a slot of the API (cancellable) and spends one call of its budget. `leaseMs` shortens the
   * slot's lease for this call (never beyond the guard's own).
   */
  async enter(subscription: string, api: string, signal?: AbortSignal, leaseMs?: number): Promise<GuardedCall> {
    const connection = await this.slots.open(signal, leaseMs);
    try {
      const plan = await readCallPlan(connection.db, subscription, api);
      // Paused: say so at once rather than queue for a slot first.
      if (plan.pause) throw exhausted(api, plan.pause.ms, plan.pause.state);
      const shared = plan.concurrencyLimit <= 1;
      await connection.take(
        { subscription, scope: shared ? '*' : api, capacity: shared ? 1 : plan.concurrencyLimit - 1 },
        signal,
      );
      const admission = await admitCallInStore(connection.db, subscription, api);
      if (!admission.admitted) throw exhausted(api, admission.waitMs, admission.state);
      const lease = await connection.hold();
      return {
        lease,
        leave: async (answer) => {
          try {
            if (answer) await recordAnswer(connection.db, subscription, api, { ...answer, seq: admission.seq });
          } catch {
            // Lost, the answer only leaves the budget estimate lower than it is (calls were counted when sent).
          }
          await connection.release();
        },
      };
    } catch (err) {
      await connection.release();
      throw err;
    }
  }
}

function exhausted(api: string, waitMs: number, state: Pick<BudgetState, 'pauseReason' | 'rateLimit' | 'windowSeconds'>): ApiBudgetExhaustedError {
  return new ApiBudgetExhaustedError(api, Math.max(1, Math.ceil(waitMs / 1000)), describePause(state));
}
