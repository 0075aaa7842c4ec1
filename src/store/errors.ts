// The store's typed failures. Each message says what is wrong and what to do; none carries a password.

/** The store cannot be reached or used at all: a setting to fix before anything can run. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** A run's host count collapsed against the last committed run: committing it would close everything. */
export class ShrinkGuardError extends Error {
  override readonly name = 'ShrinkGuardError';
}

/** A commit was asked for a run whose page list is not all staged and uploaded. */
export class RunIncompleteError extends Error {
  override readonly name = 'RunIncompleteError';
}

/** A later step found no staged data for a page that an earlier step should have staged. */
export class StagedPageMissingError extends Error {
  override readonly name = 'StagedPageMissingError';
}

/**
 * An attempt of a page's staging step found the page taken over by a later attempt (it was stopped or
 * cut off long enough for Temporal to hand the page on): it writes nothing, so no page is staged twice.
 */
export class StaleAttemptError extends Error {
  override readonly name = 'StaleAttemptError';
}

/**
 * The store refused what a step wrote as a defect, not an outage: a constraint or cardinality violation
 * or a malformed value (SQLSTATE classes 21, 22, 23). Retrying writes the same thing again, so it fails
 * at once, naming the cause.
 */
export class StoreDataDefectError extends Error {
  override readonly name = 'StoreDataDefectError';
}
