// What a run's call log holds and its report says of Qualys calls: shared by the activities that log
// the calls and the store that keeps them.

/** One entry of a run's call log: every Qualys call an activity attempt made, and every wait it asked for. */
export type CallLogEntry =
  | { type: 'call'; endpoint: string; httpStatus?: number; qualysCode?: string; ok: boolean; ms: number }
  | { type: 'wait'; seconds: number; reason: 'rate-limit' | 'concurrency-limit' };

export interface ApiCallSummary {
  /** Calls per endpoint, failed attempts included: what the subscription's budget was charged. */
  callsByEndpoint: Record<string, number>;
  /** Failed calls by Qualys code (1960 concurrency, 1965 rate, 2000 login …), else HTTP status or "network". */
  failuresByCode: Record<string, number>;
  /** Seconds of retry delay the activities asked for (durable workflow timers are counted by the workflow). */
  retryDelaySeconds: number;
}
