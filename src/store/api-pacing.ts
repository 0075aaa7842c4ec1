/**
 * Pacing by Qualys' rate-limit headers (reference §2.1): the budget of one API of one subscription, as
 * every worker shares it in the store, and the two decisions made on it — may a call be sent now, and
 * what does a response's `X-RateLimit-*` say about the next ones. Pure functions; the store runs them
 * inside a row lock (api-limits-table.ts).
 *
 * The budget is an estimate that never overstates: the `X-RateLimit-Remaining` of the newest answered
 * call, less every call sent after that call (sent, not answered: Qualys may have counted them already).
 * The rolling window gives budget back over time, but only an answer says how much, so the estimate is
 * raised by answers alone. While it is above 0, calls go; at 0 the API is paused until:
 *
 * 1. `X-RateLimit-ToWait-Sec` (or a 1965's SECONDS_TO_WAIT) when Qualys gave one: Qualys knows its window.
 * 2. Otherwise (qualysdk saw ToWait at 0 on the call that used up the budget), the oldest of our own
 *    calls still inside the window: it leaves the window at its start + Window-Sec, which frees at least
 *    one call (older calls of other tools would free one sooner). Plus a margin: Qualys counted the call
 *    a little after we sent it.
 * 3. But never longer than one bounded probe delay when nothing better is known (no own call in the
 *    window: the budget went to other tools): Window-Sec / Limit — the spacing of calls at the full rate,
 *    clamped to 2 s … 5 min. When it ends, exactly one call is let through as a probe; its answer carries
 *    fresh headers, and if Qualys refuses it (1965) its SECONDS_TO_WAIT is case 1. So an unknown pause
 *    costs at most one refused call per probe delay, and a known one none.
 *
 * The last unit of budget being spent also pauses the API (a placeholder probe delay): the call that
 * spends it is still in flight, and its answer says how long the budget is gone.
 */

/** The shared budget of one API of one subscription. */
export interface BudgetState {
  /** Estimated calls left; undefined until an answer carried `X-RateLimit-Remaining`. */
  remaining?: number;
  pausedUntilMs?: number;
  pauseReason?: PauseReason;
  rateLimit?: number;
  windowSeconds?: number;
  /** Calls sent so far (every worker): the next call's sequence number is `sent + 1`. */
  sent: number;
  /** Sequence number of the call whose answer set `remaining`; older answers are stale. */
  observedSeq: number;
}

export type PauseReason = 'qualys-to-wait' | 'own-calls' | 'probe' | 'in-flight';

/** What one answer said, for the call with sequence number `seq`. */
export interface BudgetObservation {
  seq: number;
  remaining?: number;
  rateLimit?: number;
  windowSeconds?: number;
  /** `X-RateLimit-ToWait-Sec`, or SECONDS_TO_WAIT of a 1965 refusal. */
  toWaitSeconds?: number;
}

export type Admission =
  | { admit: true; seq: number; next: BudgetState }
  | { admit: false; waitMs: number; state: BudgetState };

/** Qualys counted our call a little after we sent it; our own-calls bound waits this much longer. */
export const OWN_CALLS_MARGIN_MS = 2_000;
const PROBE_MIN_MS = 2_000;
const PROBE_MAX_MS = 300_000;
/** Before Qualys said anything about its window. */
const PROBE_DEFAULT_MS = 10_000;

/** The bounded wait before one probe call, when nothing better is known (see the top of this file). */
export function probeDelayMs(state: Pick<BudgetState, 'rateLimit' | 'windowSeconds'>): number {
  const { rateLimit, windowSeconds } = state;
  if (!rateLimit || !windowSeconds) return PROBE_DEFAULT_MS;
  return Math.min(PROBE_MAX_MS, Math.max(PROBE_MIN_MS, Math.ceil((windowSeconds * 1000) / rateLimit)));
}

/** Whether a call may be sent at `nowMs`; if so, the budget with it spent. */
export function admitCall(state: BudgetState, nowMs: number): Admission {
  if (state.pausedUntilMs !== undefined && state.pausedUntilMs > nowMs) {
    return { admit: false, waitMs: state.pausedUntilMs - nowMs, state };
  }
  const seq = state.sent + 1;
  if (state.remaining === undefined) {
    return { admit: true, seq, next: { ...state, sent: seq, pausedUntilMs: undefined, pauseReason: undefined } };
  }
  if (state.remaining > 0) {
    const remaining = state.remaining - 1;
    // This call spends the last unit: the others wait for its answer (or a probe delay, if none comes).
    const pause = remaining === 0 ? { pausedUntilMs: nowMs + probeDelayMs(state), pauseReason: 'in-flight' as const } : {};
    return { admit: true, seq, next: { ...state, sent: seq, remaining, pausedUntilMs: undefined, pauseReason: undefined, ...pause } };
  }
  // Exhausted and the pause is over: one probe goes; the others wait for its answer.
  return { admit: true, seq, next: { ...state, sent: seq, pausedUntilMs: nowMs + probeDelayMs(state), pauseReason: 'probe' } };
}

/**
 * The budget after an answer. `oldestOwnCallMs` is when the oldest of our calls still inside the window
 * started (the store looks it up only when `needsOwnCalls` says the answer needs it).
 */
export function observeAnswer(state: BudgetState, answer: BudgetObservation, nowMs: number, oldestOwnCallMs?: number): BudgetState {
  const rate = {
    rateLimit: answer.rateLimit ?? state.rateLimit,
    windowSeconds: answer.windowSeconds ?? state.windowSeconds,
  };
  const refusedFor = answer.toWaitSeconds !== undefined && answer.toWaitSeconds > 0 ? answer.toWaitSeconds : undefined;
  // A 1965 without headers still says the budget is gone, and for how long.
  const reported = answer.remaining ?? (refusedFor !== undefined ? 0 : undefined);
  if (reported === undefined || answer.seq < state.observedSeq) return { ...state, ...rate };

  // Calls sent after this one may already be counted in `reported`, or not yet: assume not.
  const remaining = reported - (state.sent - answer.seq);
  const next: BudgetState = { ...state, ...rate, remaining, observedSeq: answer.seq, pausedUntilMs: undefined, pauseReason: undefined };
  if (remaining > 0) return next;
  const probe = nowMs + probeDelayMs(next);
  if (reported > 0) return { ...next, pausedUntilMs: probe, pauseReason: 'in-flight' };
  if (refusedFor !== undefined) return { ...next, pausedUntilMs: nowMs + refusedFor * 1000, pauseReason: 'qualys-to-wait' };
  if (oldestOwnCallMs !== undefined && next.windowSeconds) {
    const ownBound = oldestOwnCallMs + next.windowSeconds * 1000 + OWN_CALLS_MARGIN_MS;
    if (ownBound < probe) return { ...next, pausedUntilMs: Math.max(nowMs, ownBound), pauseReason: 'own-calls' };
  }
  return { ...next, pausedUntilMs: probe, pauseReason: 'probe' };
}

/** Whether `observeAnswer` would use the oldest own call for this answer (so the store looks it up only then). */
export function needsOwnCalls(answer: BudgetObservation): boolean {
  return answer.remaining === 0 && !(answer.toWaitSeconds !== undefined && answer.toWaitSeconds > 0);
}

/** Why the API is paused, in words for the message of the rate-limit failure. */
export function describePause(state: Pick<BudgetState, 'pauseReason' | 'rateLimit' | 'windowSeconds'>): string {
  const budget =
    state.rateLimit !== undefined && state.windowSeconds !== undefined
      ? `the subscription's budget of ${state.rateLimit} calls per ${state.windowSeconds} s is used up`
      : "the subscription's call budget is used up";
  switch (state.pauseReason) {
    case 'qualys-to-wait':
      return `${budget} (X-RateLimit-Remaining 0); waiting as long as Qualys said (X-RateLimit-ToWait-Sec)`;
    case 'own-calls':
      return `${budget} (X-RateLimit-Remaining 0); waiting until the connector's oldest call in the window leaves it`;
    case 'in-flight':
      return `${budget} by calls still in flight; waiting for their answers`;
    case 'probe':
    case undefined:
      return `${budget} (X-RateLimit-Remaining 0, no wait given); one call will probe the budget after a short pause`;
  }
}
