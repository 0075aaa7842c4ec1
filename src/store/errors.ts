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

/** A record of the store that cannot be exported as asked (it does not follow the model, or its asset is missing). */
export class ExportRecordError extends Error {
  override readonly name = 'ExportRecordError';
}
