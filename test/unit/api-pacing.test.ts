import { OWN_CALLS_MARGIN_MS, admitCall, observeAnswer, probeDelayMs, type BudgetState } from '../../src/store/api-pacing';

const T0 = 1_700_000_000_000;
const fresh: BudgetState = { sent: 0, observedSeq: 0 };

/** Admits a call, failing the test when it is refused. */
function send(state: BudgetState, now: number): { state: BudgetState; seq: number } {
  const admission = admitCall(state, now);
  if (!admission.admit) throw new Error(`refused for ${admission.waitMs} ms`);
  return { state: admission.next, seq: admission.seq };
}

describe('pacing by X-RateLimit-* (src/store/api-pacing.ts)', () => {
  it('lets calls go while nothing is known, numbering them', () => {
    const first = send(fresh, T0);
    const second = send(first.state, T0);
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(second.state.remaining).toBeUndefined();
  });

  it('spends the remaining budget, then waits exactly what X-RateLimit-ToWait-Sec says', () => {
    const a = send(fresh, T0);
    let state = observeAnswer(a.state, { seq: a.seq, remaining: 2, rateLimit: 3, windowSeconds: 60 }, T0 + 100);
    expect(state.remaining).toBe(2);
    const b = send(state, T0 + 200);
    const c = send(b.state, T0 + 200);
    // c spends the last unit: the others wait for its answer rather than guess.
    expect(c.state.remaining).toBe(0);
    expect(admitCall(c.state, T0 + 300)).toMatchObject({ admit: false });
    state = observeAnswer(c.state, { seq: b.seq, remaining: 1, windowSeconds: 60, rateLimit: 3 }, T0 + 300);
    state = observeAnswer(state, { seq: c.seq, remaining: 0, toWaitSeconds: 42, windowSeconds: 60, rateLimit: 3 }, T0 + 400);
    expect(state).toMatchObject({ remaining: 0, pausedUntilMs: T0 + 400 + 42_000, pauseReason: 'qualys-to-wait' });
    expect(admitCall(state, T0 + 400 + 41_999)).toEqual({ admit: false, waitMs: 1, state });
    // Once the wait is over, one call probes; the next waits for its answer.
    const probe = send(state, T0 + 400 + 42_000);
    expect(probe.state.pauseReason).toBe('probe');
    expect(admitCall(probe.state, T0 + 400 + 42_001).admit).toBe(false);
    const after = observeAnswer(probe.state, { seq: probe.seq, remaining: 1 }, T0 + 43_000);
    expect(after).toMatchObject({ remaining: 1, pausedUntilMs: undefined });
  });

  it('never overstates: calls sent after the answered one count as spent, and older answers are stale', () => {
    let state: BudgetState = fresh;
    const seqs: number[] = [];
    for (let i = 0; i < 4; i++) {
      const sent = send(state, T0);
      state = sent.state;
      seqs.push(sent.seq);
    }
    // The first call's answer says 5 left; three more calls were sent after it: at most 2 are left.
    state = observeAnswer(state, { seq: seqs[0], remaining: 5 }, T0 + 10);
    expect(state.remaining).toBe(2);
    state = observeAnswer(state, { seq: seqs[3], remaining: 3 }, T0 + 20);
    expect(state.remaining).toBe(3);
    // The second call answers last, with an older count: ignored.
    state = observeAnswer(state, { seq: seqs[1], remaining: 9 }, T0 + 30);
    expect(state.remaining).toBe(3);
  });

  it('without ToWait-Sec, waits until our oldest call in the window leaves it, if that is sooner than a probe', () => {
    const window = { rateLimit: 2, windowSeconds: 600 };
    const a = send(fresh, T0);
    const answered = observeAnswer(a.state, { seq: a.seq, remaining: 0, ...window }, T0 + 599_000, T0);
    expect(answered).toMatchObject({ pauseReason: 'own-calls', pausedUntilMs: T0 + 600_000 + OWN_CALLS_MARGIN_MS });
  });

  it('without ToWait-Sec nor an own call in the window, probes after Window-Sec / Limit (2 s … 5 min)', () => {
    const a = send(fresh, T0);
    const window = { rateLimit: 300, windowSeconds: 3600 };
    const answered = observeAnswer(a.state, { seq: a.seq, remaining: 0, ...window }, T0 + 50);
    expect(answered).toMatchObject({ pauseReason: 'probe', pausedUntilMs: T0 + 50 + 12_000 });
    expect(probeDelayMs({ rateLimit: 10_000, windowSeconds: 60 })).toBe(2_000);
    expect(probeDelayMs({ rateLimit: 1, windowSeconds: 86_400 })).toBe(300_000);
  });

  it('a 1965 without headers still pauses for its SECONDS_TO_WAIT', () => {
    const a = send(fresh, T0);
    const answered = observeAnswer(a.state, { seq: a.seq, toWaitSeconds: 90 }, T0 + 10);
    expect(answered).toMatchObject({ remaining: 0, pausedUntilMs: T0 + 10 + 90_000, pauseReason: 'qualys-to-wait' });
  });
});
