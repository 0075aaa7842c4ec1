import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { QualysCallEvent } from '../qualys/client';
import { readJsonLinesIfExists } from '../sinks/atomic-file';

/** One line of a run's call log: every Qualys call an activity attempt made, and every wait it asked for. */
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

/**
 * An append-only file per run beside the staged pages. Failed attempts never return a result to the
 * workflow, so this is how the run report can count every call and every 409 honestly.
 */
export class CallLog {
  constructor(private readonly file: string) {}

  static forRun(runDir: string): CallLog {
    return new CallLog(path.join(runDir, 'calls.jsonl'));
  }

  /** Each entry is one short line written with O_APPEND, so concurrent activities do not interleave. */
  async append(entry: CallLogEntry): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }

  recorder(): { onCall: (event: QualysCallEvent) => void; flush: () => Promise<void> } {
    const pending: Array<Promise<void>> = [];
    return {
      onCall: (event) => {
        pending.push(
          this.append({
            type: 'call',
            endpoint: event.endpoint,
            httpStatus: event.httpStatus,
            qualysCode: event.qualysCode,
            ok: event.ok,
            ms: Math.round(event.durationMs),
          }),
        );
      },
      flush: async () => {
        await Promise.all(pending);
      },
    };
  }

  async summarise(): Promise<ApiCallSummary> {
    const summary: ApiCallSummary = { callsByEndpoint: {}, failuresByCode: {}, retryDelaySeconds: 0 };
    for (const entry of await readJsonLinesIfExists<CallLogEntry>(this.file)) {
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
}
