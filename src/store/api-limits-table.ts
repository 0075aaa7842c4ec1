import type { ClientBase } from 'pg';
import { z } from 'zod';
import { admitCall, needsOwnCalls, observeAnswer, type BudgetObservation, type BudgetState, type PauseReason } from './api-pacing';

/**
 * The `api_limits` and `api_call_starts` tables (migration 3): what every worker has learnt of each
 * Qualys API's limits, and the rate budget they share. Times are the database's clock, the one clock all
 * workers share.
 */

/** Qualys' Standard tier, assumed until a response says otherwise (reference §2.3). */
export const DEFAULT_CONCURRENCY_LIMIT = 2;

const num = z.coerce.number();
const optionalNum = z.union([z.null(), z.coerce.number()]).transform((v) => (v === null ? undefined : v));
const pauseReasons = ['qualys-to-wait', 'own-calls', 'probe', 'in-flight'] as const satisfies readonly PauseReason[];

const planRow = z.object({
  concurrency_limit: optionalNum,
  paused_ms: optionalNum,
  pause_reason: z.union([z.null(), z.enum(pauseReasons)]).transform((v) => v ?? undefined),
  rate_limit: optionalNum,
  rate_window_sec: optionalNum,
});
const budgetRow = z.object({
  remaining: optionalNum,
  paused_until_ms: optionalNum,
  pause_reason: z.union([z.null(), z.enum(pauseReasons)]).transform((v) => v ?? undefined),
  rate_limit: optionalNum,
  rate_window_sec: optionalNum,
  sent: num,
  observed_seq: num,
  now_ms: num,
});

export interface CallPlan {
  /** The API's concurrency limit: its own last observation, else the subscription's latest, else 2. */
  concurrencyLimit: number;
  /** Set while the API is paused for its rate budget: how much longer, and why. */
  pause?: { ms: number; state: Pick<BudgetState, 'pauseReason' | 'rateLimit' | 'windowSeconds'> };
}

/**
 * What a call on this API must respect. Qualys sets one service level per subscription, so an API not
 * yet observed (or one whose answers carry no limit headers, like Asset Management) takes the limit last
 * seen on any API of the subscription.
 */
export async function readCallPlan(db: ClientBase, subscription: string, api: string): Promise<CallPlan> {
  const { rows } = await db.query(
    `SELECT
       (SELECT concurrency_limit FROM api_limits
         WHERE subscription = $1 AND concurrency_limit IS NOT NULL
         ORDER BY (api = $2) DESC, limit_observed_at DESC LIMIT 1) AS concurrency_limit,
       p.paused_ms, p.pause_reason, p.rate_limit, p.rate_window_sec
     FROM (SELECT 1) one
     LEFT JOIN (SELECT extract(epoch FROM paused_until - clock_timestamp()) * 1000 AS paused_ms, pause_reason, rate_limit, rate_window_sec
                  FROM api_limits WHERE subscription = $1 AND api = $2 AND paused_until > clock_timestamp()) p ON true`,
    [subscription, api],
  );
  const row = planRow.parse(rows[0]);
  return {
    concurrencyLimit: row.concurrency_limit ?? DEFAULT_CONCURRENCY_LIMIT,
    pause:
      row.paused_ms === undefined
        ? undefined
        : { ms: row.paused_ms, state: { pauseReason: row.pause_reason, rateLimit: row.rate_limit, windowSeconds: row.rate_window_sec } },
  };
}

export type CallAdmission = { admitted: true; seq: number } | { admitted: false; waitMs: number; state: BudgetState };

/** Spends one call of the API's budget, or says how long to wait; atomic across every worker. */
export async function admitCallInStore(db: ClientBase, subscription: string, api: string): Promise<CallAdmission> {
  return inTransaction(db, async () => {
    const { state, nowMs } = await lockBudget(db, subscription, api);
    const admission = admitCall(state, nowMs);
    if (!admission.admit) return { admitted: false, waitMs: admission.waitMs, state: admission.state };
    await writeBudget(db, subscription, api, admission.next);
    await db.query('INSERT INTO api_call_starts (subscription, api) VALUES ($1, $2)', [subscription, api]);
    return { admitted: true, seq: admission.seq };
  });
}

/** Records what an answer said: the concurrency limit for every worker, and the budget. */
export async function recordAnswer(
  db: ClientBase,
  subscription: string,
  api: string,
  answer: BudgetObservation & { concurrencyLimit?: number },
): Promise<void> {
  await inTransaction(db, async () => {
    const { state, nowMs } = await lockBudget(db, subscription, api);
    let oldestOwnCallMs: number | undefined;
    const windowSeconds = answer.windowSeconds ?? state.windowSeconds;
    if (needsOwnCalls(answer) && windowSeconds) {
      const { rows } = await db.query(
        `SELECT extract(epoch FROM min(started_at)) * 1000 AS oldest FROM api_call_starts
          WHERE subscription = $1 AND api = $2 AND started_at > clock_timestamp() - make_interval(secs => $3)`,
        [subscription, api, windowSeconds],
      );
      oldestOwnCallMs = z.object({ oldest: optionalNum }).parse(rows[0]).oldest;
    }
    await writeBudget(db, subscription, api, observeAnswer(state, answer, nowMs, oldestOwnCallMs));
    if (answer.concurrencyLimit !== undefined) {
      await db.query('UPDATE api_limits SET concurrency_limit = $3, limit_observed_at = clock_timestamp() WHERE subscription = $1 AND api = $2', [
        subscription,
        api,
        answer.concurrencyLimit,
      ]);
    }
    // Starts older than the window can no longer bound a wait (a day when the window is unknown).
    await db.query(
      `DELETE FROM api_call_starts WHERE subscription = $1 AND api = $2 AND started_at < clock_timestamp() - make_interval(secs => $3)`,
      [subscription, api, windowSeconds ?? 86_400],
    );
  });
}

async function lockBudget(db: ClientBase, subscription: string, api: string): Promise<{ state: BudgetState; nowMs: number }> {
  await db.query('INSERT INTO api_limits (subscription, api) VALUES ($1, $2) ON CONFLICT DO NOTHING', [subscription, api]);
  const { rows } = await db.query(
    `SELECT remaining, extract(epoch FROM paused_until) * 1000 AS paused_until_ms, pause_reason, rate_limit, rate_window_sec,
            sent, observed_seq, extract(epoch FROM clock_timestamp()) * 1000 AS now_ms
       FROM api_limits WHERE subscription = $1 AND api = $2 FOR UPDATE`,
    [subscription, api],
  );
  const row = budgetRow.parse(rows[0]);
  return {
    nowMs: row.now_ms,
    state: {
      remaining: row.remaining,
      pausedUntilMs: row.paused_until_ms,
      pauseReason: row.pause_reason,
      rateLimit: row.rate_limit,
      windowSeconds: row.rate_window_sec,
      sent: row.sent,
      observedSeq: row.observed_seq,
    },
  };
}

async function writeBudget(db: ClientBase, subscription: string, api: string, state: BudgetState): Promise<void> {
  await db.query(
    `UPDATE api_limits SET remaining = $3, paused_until = to_timestamp($4::float8 / 1000), pause_reason = $5, rate_limit = $6,
            rate_window_sec = $7, sent = $8, observed_seq = $9
      WHERE subscription = $1 AND api = $2`,
    [
      subscription,
      api,
      state.remaining ?? null,
      state.pausedUntilMs ?? null,
      state.pauseReason ?? null,
      state.rateLimit ?? null,
      state.windowSeconds ?? null,
      state.sent,
      state.observedSeq,
    ],
  );
}

async function inTransaction<T>(db: ClientBase, body: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  try {
    const result = await body();
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
