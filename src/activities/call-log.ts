import type { ApiCallSummary, CallLogEntry } from '../contracts/calls';
import type { QualysCallEvent } from '../qualys/client';

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
