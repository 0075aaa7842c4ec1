import type { QualysCallEvent } from '../qualys/client';
import type { QualysErrorKind } from '../qualys/errors';

/** One entry of a run's call log: every Qualys call an activity attempt made, and every wait it asked for. */
export type CallLogEntry =
  | { type: 'call'; endpoint: string; httpStatus?: number; qualysCode?: string; ok: boolean; ms: number }
  | { type: 'wait'; seconds: number; reason: QualysErrorKind };

export interface ApiCallSummary {
  /** Calls per endpoint, failed attempts included: what the subscription's budget was charged. */
  callsByEndpoint: Record<string, number>;
  /** Failed calls by Qualys code (1960 concurrency, 1965 rate, 2000 login …), else HTTP status or "network". */
  failuresByCode: Record<string, number>;
  /** Seconds of retry delay the activities asked for (durable workflow timers are counted by the workflow). */
  retryDelaySeconds: number;
}

/**
 * Collects the calls of one activity attempt; the attempt writes them to the store when it ends, won or
 * lost. Failed attempts never return a result to the workflow, so this is how the run report can count
 * every call and every 409 honestly.
 */
export function callRecorder(): { onCall: (event: QualysCallEvent) => void; wait: (entry: CallLogEntry) => void; entries: CallLogEntry[] } {
  const entries: CallLogEntry[] = [];
  return {
    entries,
    onCall: (event) => {
      entries.push({
        type: 'call',
        endpoint: event.endpoint,
        httpStatus: event.httpStatus,
        qualysCode: event.qualysCode,
        ok: event.ok,
        ms: Math.round(event.durationMs),
      });
    },
    wait: (entry) => {
      entries.push(entry);
    },
  };
}

export function summariseCalls(entries: readonly CallLogEntry[]): ApiCallSummary {
  const summary: ApiCallSummary = { callsByEndpoint: {}, failuresByCode: {}, retryDelaySeconds: 0 };
  for (const entry of entries) {
    if (entry.type === 'wait') {
      summary.retryDelaySeconds += entry.seconds;
      continue;
    }
    summary.callsByEndpoint[entry.endpoint] = (summary.callsByEndpoint[entry.endpoint] ?? 0) + 1;
    if (!entry.ok) {
      const key = entry.qualysCode ?? String(entry.httpStatus ?? 'network');
      summary.failuresByCode[key] = (summary.failuresByCode[key] ?? 0) + 1;
    }
  }
  return summary;
}
