import type { QualysCallEvent } from '../qualys/client';
import type { QualysErrorKind } from '../qualys/errors';

/** U+FFFD characters in one field of the answers (invalid bytes, characters XML forbids): how many, in how many values. */
export interface ReplacedCharacterCount {
  characters: number;
  values: number;
}

/** One entry of a run's call log: every Qualys call an activity attempt made, and every wait it asked for. */
export type CallLogEntry =
  | {
      type: 'call';
      endpoint: string;
      httpStatus?: number;
      qualysCode?: string;
      ok: boolean;
      ms: number;
      /** By field (`DETECTION.RESULTS`), when the answer had any. */
      replacedCharacters?: Record<string, ReplacedCharacterCount>;
      /** Values of unexpected form dropped from their records, by field (`DETECTION.PORT`). */
      droppedValues?: Record<string, number>;
      /** Records that could not be read (set aside, not taken). */
      rejectedRecords?: number;
    }
  | { type: 'wait'; seconds: number; reason: QualysErrorKind };

export interface ApiCallSummary {
  /** Calls per endpoint, failed attempts included: what the subscription's budget was charged. */
  callsByEndpoint: Record<string, number>;
  /** Failed calls by Qualys code (1960 concurrency, 1965 rate, 2000 login …), else HTTP status or "network". */
  failuresByCode: Record<string, number>;
  /** Seconds of retry delay the activities asked for (durable workflow timers are counted by the workflow). */
  retryDelaySeconds: number;
  /** U+FFFD characters in the answers of successful calls, by field; absent when there were none. */
  replacedCharacters?: Record<string, ReplacedCharacterCount>;
  /** Values of unexpected form dropped from records of successful calls, by field; absent when none were. */
  droppedValues?: Record<string, number>;
  /** Records of successful calls that could not be read; absent when none. */
  rejectedRecords?: number;
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
        ...(event.replacedCharacters === undefined ? {} : { replacedCharacters: event.replacedCharacters }),
        ...(event.droppedValues === undefined ? {} : { droppedValues: event.droppedValues }),
        ...(event.rejectedRecords === undefined ? {} : { rejectedRecords: event.rejectedRecords }),
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
    } else {
      addReading(summary, entry);
    }
  }
  return summary;
}

/** What a successful call's reading met (characters replaced, values dropped, records rejected), added to the summary. */
function addReading(summary: ApiCallSummary, entry: Extract<CallLogEntry, { type: 'call' }>): void {
  if (entry.replacedCharacters !== undefined) {
    const total = (summary.replacedCharacters ??= {});
    for (const [field, count] of Object.entries(entry.replacedCharacters)) {
      const sum = (total[field] ??= { characters: 0, values: 0 });
      sum.characters += count.characters;
      sum.values += count.values;
    }
  }
  if (entry.droppedValues !== undefined) {
    const total = (summary.droppedValues ??= {});
    for (const [field, count] of Object.entries(entry.droppedValues)) total[field] = (total[field] ?? 0) + count;
  }
  if (entry.rejectedRecords !== undefined) summary.rejectedRecords = (summary.rejectedRecords ?? 0) + entry.rejectedRecords;
}
