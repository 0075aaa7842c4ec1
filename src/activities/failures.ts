import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ConfigError } from '../config/errors';
import { isQualysError, type QualysErrorKind } from '../qualys/errors';
import type { CallLogEntry } from './call-log';
import { RunIncompleteError, ShrinkGuardError, StagedPageMissingError } from '../store/errors';
import {
  RATE_LIMIT_WAIT_FAILURE,
  RUN_INCOMPLETE_FAILURE,
  SHRINK_GUARD_FAILURE,
  STAGED_PAGE_MISSING_FAILURE,
  type RateLimitWait,
} from './failure-types';

/** Temporal failure type for each Qualys error kind (what `nonRetryableErrorTypes` and the Web UI show). */
const FAILURE_TYPE: Readonly<Record<QualysErrorKind, string>> = {
  authentication: 'QualysAuthenticationFailed',
  account: 'QualysAccountProblem',
  permission: 'QualysPermissionDenied',
  'concurrency-limit': 'QualysConcurrencyLimited',
  'rate-limit': 'QualysRateLimited',
  'bad-request': 'QualysBadRequest',
  server: 'QualysServerError',
  network: 'QualysNetworkError',
  'malformed-response': 'QualysMalformedResponse',
  config: 'QualysConfigError',
};

export interface LimitHandling {
  /** Rate-limit waits up to this long are an activity retry delay; longer ones a workflow timer. */
  inlineRateLimitWaitMaxSeconds: number;
  /** First retry delay after a concurrency refusal (1960); it grows with each attempt, up to 2 minutes. */
  concurrencyRetrySeconds: number;
}

export const DEFAULT_LIMIT_HANDLING: LimitHandling = { inlineRateLimitWaitMaxSeconds: 60, concurrencyRetrySeconds: 15 };

/** How many responses that will not parse a step gets before the run gives up on it. */
export const MALFORMED_RESPONSE_ATTEMPTS = 4;

export interface FailureContext {
  limits: LimitHandling;
  attempt: number;
  recordWait?: (entry: CallLogEntry) => void;
  /**
   * Counts one more failure of this kind for the step, across its attempts and workers, and resolves with
   * the count so far. Without it (or when the store cannot say), the attempt number stands in.
   */
  countFailure?: (kind: QualysErrorKind) => Promise<number>;
}

/**
 * Runs an activity body and turns our typed errors into Temporal failures: the type says what happened,
 * `nonRetryable` says whether waiting can help, and Qualys' own wait becomes `nextRetryDelay` (or, when
 * long, a failure the workflow answers with a durable timer). Only our own message and plain details
 * cross into history — never the underlying error, whose cause chain could carry request details.
 */
export async function translateFailures<T>(body: () => Promise<T>, context?: FailureContext): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw await toFailure(err, context);
  }
}

async function toFailure(err: unknown, context: FailureContext | undefined): Promise<unknown> {
  if (err instanceof ConfigError) {
    return ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true });
  }
  // The store's refusals: retrying cannot change them (a store that is down is a plain, retried error).
  const storeFailure = [
    [StagedPageMissingError, STAGED_PAGE_MISSING_FAILURE],
    [ShrinkGuardError, SHRINK_GUARD_FAILURE],
    [RunIncompleteError, RUN_INCOMPLETE_FAILURE],
  ] as const;
  for (const [errorClass, type] of storeFailure) {
    if (err instanceof errorClass) return ApplicationFailure.create({ type, message: err.message, nonRetryable: true });
  }
  if (!isQualysError(err)) return err;

  const details = err.details();
  const message = err.fix ? `${err.message} — ${err.fix}` : err.message;
  const limits = context?.limits ?? DEFAULT_LIMIT_HANDLING;

  if (err.kind === 'rate-limit') {
    const waitSeconds = Math.max(1, err.waitSeconds ?? limits.concurrencyRetrySeconds);
    if (waitSeconds > limits.inlineRateLimitWaitMaxSeconds) {
      // Too long to hold an activity retry: hand the wait to the workflow, which sleeps on a timer.
      const wait: RateLimitWait = { waitSeconds, endpoint: err.endpoint };
      return ApplicationFailure.create({
        type: RATE_LIMIT_WAIT_FAILURE,
        message,
        nonRetryable: true,
        details: [wait],
        category: ApplicationFailureCategory.BENIGN,
      });
    }
    context?.recordWait?.({ type: 'wait', seconds: waitSeconds, reason: 'rate-limit' });
    return ApplicationFailure.create({
      type: FAILURE_TYPE[err.kind],
      message,
      details: [details],
      nextRetryDelay: `${waitSeconds}s`,
      category: ApplicationFailureCategory.BENIGN,
    });
  }
  if (err.kind === 'concurrency-limit') {
    const delay = Math.min(120, limits.concurrencyRetrySeconds * (context?.attempt ?? 1));
    context?.recordWait?.({ type: 'wait', seconds: delay, reason: 'concurrency-limit' });
    return ApplicationFailure.create({
      type: FAILURE_TYPE[err.kind],
      message,
      details: [details],
      nextRetryDelay: `${delay}s`,
      category: ApplicationFailureCategory.BENIGN,
    });
  }
  // A body that would not parse may be a connection cut in transit, so it is fetched again — but only a
  // few times: the same answer again and again is Qualys' output, which retrying will not change.
  // Counted per step, not by attempt number: attempts that ended otherwise (a worker killed or paused, a
  // 5xx) are not answers that would not parse.
  const attempt = context?.attempt ?? 1;
  const malformed = err.kind === 'malformed-response' && err.retryable ? ((await context?.countFailure?.(err.kind).catch(() => undefined)) ?? attempt) : 0;
  if (malformed >= MALFORMED_RESPONSE_ATTEMPTS) {
    return ApplicationFailure.create({
      type: FAILURE_TYPE[err.kind],
      message: `${message} (the same failure on ${malformed} attempts of this step: giving up)`,
      nonRetryable: true,
      details: [details],
    });
  }
  return ApplicationFailure.create({
    type: FAILURE_TYPE[err.kind],
    message,
    nonRetryable: !err.retryable,
    details: [details],
    // A body cut in transit is worth fetching again soon, not after the step's growing backoff.
    ...(err.kind === 'malformed-response' ? { nextRetryDelay: `${2 * attempt}s` } : {}),
  });
}
