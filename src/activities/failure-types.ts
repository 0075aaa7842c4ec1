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
];
