// Failure types shared by activities and the workflow. No imports: workflow code loads this file.

/** A Qualys rate limit (1965) too long for an activity retry: the workflow waits on a durable timer. */
export const RATE_LIMIT_WAIT_FAILURE = 'QualysRateLimitWait';

/** A staged page is not visible to the worker running the next step: the workflow fetches it again. */
export const STAGED_PAGE_MISSING_FAILURE = 'StagedPageMissing';

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
];
