import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ConfigError } from '../config/errors';
import type { SecretMasker } from '../config/secrets';
import { FAILURE_TABLE, failureTypesOfQualysKind, type FailureType, type QualysErrorKind, type RateLimitWait, type RetryDelay } from '../contracts/failure-table';
import { isQualysError, type QualysError } from '../qualys/errors';
import type { CallLogEntry } from '../contracts/calls';
import { RunIncompleteError, ShrinkGuardError, StagedPageMissingError, StaleAttemptError, StoreDataDefectError, TooManyRejectedRecordsError, describeDataRefusal, describeSchemaRefusal, isDataRefusal, isSchemaRefusal } from '../store/errors';

export interface LimitHandling {
  /** Rate-limit waits up to this long are an activity retry delay; longer ones a workflow timer. */
  inlineRateLimitWaitMaxSeconds: number;
  /** First retry delay after a concurrency refusal (1960); it grows with each attempt, up to 2 minutes. */
  concurrencyRetrySeconds: number;
}

export const DEFAULT_LIMIT_HANDLING: LimitHandling = { inlineRateLimitWaitMaxSeconds: 60, concurrencyRetrySeconds: 15 };

export interface FailureContext {
  limits: LimitHandling;
  attempt: number;
  recordWait?: (entry: CallLogEntry) => void;
  /** Masks any secret a message quotes, before it goes into history (and from there into logs and the runs table). */
  masker?: SecretMasker;
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
    throw withoutSecrets(await toFailure(err, context), context?.masker);
  }
}

/** The failure with any secret its message or stack quotes masked (errors are changed in place: they are ours to throw). */
function withoutSecrets(failure: unknown, masker: SecretMasker | undefined): unknown {
  if (!masker || !(failure instanceof Error)) return failure;
  failure.message = masker.mask(failure.message);
  if (failure.stack) failure.stack = masker.mask(failure.stack);
  return failure;
}

/** The store's refusals: retrying cannot change them (a store that is down is a plain, retried error). */
const STORE_REFUSALS = [
  [StagedPageMissingError, 'StagedPageMissing'],
  [ShrinkGuardError, 'EstateShrankTooMuch'],
  [RunIncompleteError, 'RunIncomplete'],
  [TooManyRejectedRecordsError, 'TooManyRejectedRecords'],
  [StaleAttemptError, 'StaleAttempt'],
  [StoreDataDefectError, 'StoreDataDefect'],
] as const satisfies readonly (readonly [new (message: string) => Error, FailureType])[];

async function toFailure(err: unknown, context: FailureContext | undefined): Promise<unknown> {
  if (err instanceof ConfigError) return tableFailure('ConfigError', err.message);
  for (const [errorClass, type] of STORE_REFUSALS) {
    if (err instanceof errorClass) return tableFailure(type, err.message);
  }
  // A value PostgreSQL refuses is refused again on every retry: fail now, naming where it was.
  if (isDataRefusal(err)) return tableFailure('StoreDataDefect', describeDataRefusal(err));
  if (isSchemaRefusal(err)) return schemaMismatchFailure(err, context);
  if (!isQualysError(err)) return err;
  return qualysFailure(err, context);
}

/** A failure of a type whose treatment is all in the table (no Qualys details, no delay). */
function tableFailure(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: FAILURE_TABLE[type].retry !== 'retryable' });
}

/** A statement the store's schema or grants refuse: retried as the table says (a retry may meet a worker of the store's version). */
function schemaMismatchFailure(err: unknown, context: FailureContext | undefined): ApplicationFailure {
  const kind = FAILURE_TABLE.StoreSchemaMismatch;
  const attempt = context?.attempt ?? 1;
  const delaySeconds = retryDelaySeconds(kind.delay, { qualysWaitSeconds: 0, limits: context?.limits ?? DEFAULT_LIMIT_HANDLING, attempt, failures: attempt });
  return ApplicationFailure.create({
    type: 'StoreSchemaMismatch',
    message: describeSchemaRefusal(err, `in ${delaySeconds} s (${kind.delay.seconds} s × attempt, at most ${kind.delay.maxSeconds / 60} min)`),
    nonRetryable: false,
    nextRetryDelay: `${delaySeconds}s`,
  });
}

/** A Qualys error as the failure table says: its type, whether it is retried, after how long, or a workflow timer. */
async function qualysFailure(err: QualysError, context: FailureContext | undefined): Promise<ApplicationFailure> {
  const details = err.details();
  const message = err.fix ? `${err.message} — ${err.fix}` : err.message;
  const limits = context?.limits ?? DEFAULT_LIMIT_HANDLING;
  const attempt = context?.attempt ?? 1;
  const types = failureTypesOfQualysKind(err.kind);

  // What Qualys asked for (a concurrency retry's delay when it did not say). Too long to hold an activity
  // retry (or a kind that always waits): the workflow sleeps on a timer.
  const waitSeconds = Math.max(1, err.waitSeconds ?? limits.concurrencyRetrySeconds);
  if (types.retry === undefined) return waitFailure(types.wait, waitSeconds, err, message);
  if (types.wait !== undefined && waitSeconds > limits.inlineRateLimitWaitMaxSeconds) return waitFailure(types.wait, waitSeconds, err, message);

  const type = types.retry;
  const kind = FAILURE_TABLE[type];
  if (kind.retry !== 'retryable' || !err.retryable) {
    return ApplicationFailure.create({ type, message, nonRetryable: true, details: [details] });
  }
  // Failures of this kind so far, counted per step across its attempts and workers, not by attempt
  // number: attempts that ended otherwise (a worker killed or paused, a burst of 409s) did not fail this
  // way. An answer that stays the same again and again is Qualys' output, which retrying will not
  // change; an outage is waited out with a backoff of its own.
  const counted = 'attempts' in kind || kind.delay.after === 'step-backoff';
  const failures = counted ? ((await context?.countFailure?.(err.kind).catch(() => undefined)) ?? attempt) : 0;
  if ('attempts' in kind && failures >= kind.attempts) {
    return ApplicationFailure.create({
      type,
      message: `${message} (the same failure on ${failures} attempts of this step: giving up)`,
      nonRetryable: true,
      details: [details],
    });
  }
  const delaySeconds = retryDelaySeconds(kind.delay, { qualysWaitSeconds: waitSeconds, limits, attempt, failures });
  context?.recordWait?.({ type: 'wait', seconds: delaySeconds, reason: err.kind });
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: false,
    details: [details],
    nextRetryDelay: `${delaySeconds}s`,
    ...('benign' in kind ? { category: ApplicationFailureCategory.BENIGN } : {}),
  });
}

function waitFailure(type: FailureType, waitSeconds: number, err: QualysError, message: string): ApplicationFailure {
  const wait: RateLimitWait = { waitSeconds, endpoint: err.endpoint };
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [wait], category: ApplicationFailureCategory.BENIGN });
}

/** What a retry delay is computed from. */
interface DelayInputs {
  /** What Qualys asked for (the concurrency retry delay when it did not say). */
  qualysWaitSeconds: number;
  limits: LimitHandling;
  attempt: number;
  /** The step's failures of this kind so far, this one included (the attempt number when the store cannot say). */
  failures: number;
}

/** The delay the table asks for before the next attempt. */
function retryDelaySeconds(delay: RetryDelay, inputs: DelayInputs): number {
  switch (delay.after) {
    case 'step-backoff':
      return Math.min(delay.maxSeconds, delay.initialSeconds * delay.coefficient ** (Math.max(1, inputs.failures) - 1));
    case 'qualys-wait':
      return inputs.qualysWaitSeconds;
    case 'per-attempt': {
      const seconds = (delay.seconds === 'concurrency-setting' ? inputs.limits.concurrencyRetrySeconds : delay.seconds) * inputs.attempt;
      return delay.maxSeconds === undefined ? seconds : Math.min(delay.maxSeconds, seconds);
    }
  }
}
