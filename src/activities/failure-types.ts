// Failure types shared by activities and the workflow. No imports: workflow code loads this file.

/** A Qualys rate limit (1965) too long for an activity retry: the workflow waits on a durable timer. */
export const RATE_LIMIT_WAIT_FAILURE = 'QualysRateLimitWait';

/** A page an earlier step staged is gone from the store (its run was abandoned): the run cannot go on. */
export const STAGED_PAGE_MISSING_FAILURE = 'StagedPageMissing';

/** The run's host count collapsed against the last committed run: not committed unless allowShrink. */
export const SHRINK_GUARD_FAILURE = 'EstateShrankTooMuch';

/** A commit found pages of the run's page list not uploaded: nothing was committed. */
export const RUN_INCOMPLETE_FAILURE = 'RunIncomplete';

/** An attempt of a page's staging found the page taken over by a later attempt: it wrote nothing. */
export const STALE_ATTEMPT_FAILURE = 'StaleAttempt';

/** The store refused the run's data as a defect (constraint, cardinality, malformed value): not retried. */
export const STORE_DATA_DEFECT_FAILURE = 'StoreDataDefect';

/** A Qualys step kept failing (5xx, network, 1960 …) for the run's whole retry window. */
export const QUALYS_UNAVAILABLE_FAILURE = 'QualysUnavailable';

/** A store step (or one whose last failure was not Qualys') kept failing for the whole retry window. */
export const STORE_UNAVAILABLE_FAILURE = 'StoreUnavailable';

export interface RateLimitWait {
  waitSeconds: number;
  endpoint?: string;
}

// Failure types that retrying cannot fix: a person has to change a setting or a permission first.
// Activities also mark these failures non-retryable themselves; the list keeps the workflow's retry
// policies honest if one slips through as a plain error.
export const NON_RETRYABLE_FAILURE_TYPES = [
  'InvalidSyncInput',
  'ConfigError',
  'QualysAuthenticationFailed',
  'QualysAccountProblem',
  'QualysPermissionDenied',
  'QualysBadRequest',
  'QualysConfigError',
  RATE_LIMIT_WAIT_FAILURE,
  STAGED_PAGE_MISSING_FAILURE,
  SHRINK_GUARD_FAILURE,
  RUN_INCOMPLETE_FAILURE,
  STALE_ATTEMPT_FAILURE,
  STORE_DATA_DEFECT_FAILURE,
  QUALYS_UNAVAILABLE_FAILURE,
  STORE_UNAVAILABLE_FAILURE,
];
