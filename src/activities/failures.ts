import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ConfigError } from '../config/errors';
import { isQualysError, type QualysErrorKind } from '../qualys/errors';

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

/**
 * Runs an activity body and turns our typed errors into Temporal failures: the type says what happened,
 * `nonRetryable` says whether waiting can help, and Qualys' own wait becomes `nextRetryDelay`.
 * Only our own message and plain details cross into history — never the underlying error (its cause
 * chain could carry request details).
 */
export async function translateFailures<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isQualysError(err)) {
      const details = err.details();
      const expected = err.kind === 'concurrency-limit' || err.kind === 'rate-limit';
      throw ApplicationFailure.create({
        type: FAILURE_TYPE[err.kind],
        message: err.fix ? `${err.message} — ${err.fix}` : err.message,
        nonRetryable: !err.retryable,
        details: [details],
        nextRetryDelay: err.kind === 'rate-limit' && err.waitSeconds ? `${err.waitSeconds}s` : undefined,
        // Limits are part of normal operation: keep them out of the worker's error logs and failure metrics.
        category: expected ? ApplicationFailureCategory.BENIGN : undefined,
      });
    }
    if (err instanceof ConfigError) {
      throw ApplicationFailure.create({ type: 'ConfigError', message: err.message, nonRetryable: true });
    }
    throw err;
  }
}
