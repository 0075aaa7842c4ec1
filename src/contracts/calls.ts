// What a run's call log holds and its report says of Qualys calls: shared by the activities that log
// the calls and the store that keeps them.

import type { QualysErrorKind } from './failure-table';

/** U+FFFD characters in one field of the answers (invalid bytes, characters XML forbids): how many, in how many values. */
export interface ReplacedCharacterCount {
  characters: number;
  values: number;
}

/** What one Qualys call came to: how it was answered, and what reading the answer observed. */
export interface CallObserved {
  httpStatus?: number;
  qualysCode?: string;
  ok: boolean;
  /** Characters of the answer that arrived as, or were replaced by, U+FFFD, by field (`DETECTION.RESULTS`); absent when none. */
  replacedCharacters?: Record<string, ReplacedCharacterCount>;
  /** Values of unexpected form dropped from their records, by field (`DETECTION.PORT`). */
  droppedValues?: Record<string, number>;
  /** Records that could not be read (set aside, not taken). */
  rejectedRecords?: number;
}

/** One entry of a run's call log: every Qualys call an activity attempt made, and every wait it asked for. */
export type CallLogEntry = ({ type: 'call'; endpoint: string; ms: number } & CallObserved) | { type: 'wait'; seconds: number; reason: QualysErrorKind };

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
