// The store's typed failures. Each message says what is wrong and what to do; none carries a password.

/** The store cannot be reached or used at all: a setting to fix before anything can run. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** A run's host count collapsed against the last committed run: committing it would close everything. */
export class ShrinkGuardError extends Error {
  override readonly name = 'ShrinkGuardError';
}

/**
 * More of a run's records could not be read than its `maxRejectedShare` allows: committing would leave
 * too much of the estate as it was, so nothing is committed.
 */
export class TooManyRejectedRecordsError extends Error {
  override readonly name = 'TooManyRejectedRecordsError';
}

/** A commit was asked for a run whose page list is not all staged and uploaded. */
export class RunIncompleteError extends Error {
  override readonly name = 'RunIncompleteError';
}

/** A later step found no staged data for a page that an earlier step should have staged. */
export class StagedPageMissingError extends Error {
  override readonly name = 'StagedPageMissingError';
}

/** What PostgreSQL says about an error it raised (the fields of pg's DatabaseError the connector reads). */
export interface PostgresErrorFields {
  code: string;
  message: string;
  detail?: string;
  where?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/** The fields PostgreSQL set on an error it raised; undefined for any other error (a network failure …). */
export function postgresFields(error: unknown): PostgresErrorFields | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, detail, where, table, column, constraint } = error as Error &
    Partial<Record<'code' | 'detail' | 'where' | 'table' | 'column' | 'constraint', unknown>>;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    code,
    message: error.message,
    detail: text(detail),
    where: text(where),
    table: text(table),
    column: text(column),
    constraint: text(constraint),
  };
}

/**
 * Whether PostgreSQL refused a value itself — SQLSTATE class 22, "data exception": a `\u0000` a
 * text or jsonb column cannot hold (22P05), a byte sequence invalid in UTF-8 (22021), a number out of
 * range … Writing the same data again fails the same way, so this is a defect to report, never an
 * outage to wait out (and a retry would fetch from Qualys again for nothing).
 */
export function isDataRefusal(error: unknown): boolean {
  return postgresFields(error)?.code.startsWith('22') ?? false;
}

/**
 * One line naming what the store refused: the table and column (from the error, or the COPY it came
 * from), the JSON field when the value was JSON, PostgreSQL's reason and SQLSTATE, and what to do.
 * The data itself is left out: it is Qualys' (a host's names, a title), not the message's to carry.
 */
export function describeDataRefusal(error: unknown): string {
  const fields = postgresFields(error);
  if (!fields) return String(error);
  const copy = /COPY (\w+), line (\d+)(?:, column (\w+))?/.exec(fields.where ?? '');
  const table = fields.table ?? copy?.[1];
  const column = fields.column ?? copy?.[3];
  // PostgreSQL's JSON context quotes the text up to the bad token: the last key before it is the field.
  const json = /JSON data, line \d+: (.*)$/m.exec(fields.where ?? '')?.[1];
  const field = json ? [...json.matchAll(/"((?:[^"\\]|\\.){1,64})"\s*:/g)].at(-1)?.[1] : undefined;
  const parameter = /parameter \$(\d+)/.exec(fields.where ?? '')?.[1];
  const place = [
    table ? `table ${table}` : undefined,
    column ? `column ${column}` : parameter ? `parameter $${parameter}` : undefined,
    copy ? `row ${copy[2]} of the COPY` : undefined,
    field ? `field "${field}"` : undefined,
  ].filter((part): part is string => part !== undefined);
  const reason = `${fields.message}${fields.detail ? ` (${fields.detail})` : ''}`;
  return (
    `The store refused a value${place.length > 0 ? ` in ${place.join(', ')}` : ''}: ${reason} [SQLSTATE ${fields.code}]. ` +
    'Writing it again would fail the same way, so the step is not retried and nothing of the run is committed. ' +
    'The value came from Qualys\' answer as the connector read it: report this message to the connector\'s maintainers.'
  );
}

/**
 * Whether PostgreSQL refused a statement as not fitting the database — SQLSTATE class 42, "syntax error
 * or access rule violation": a column or table the schema does not have (42703, 42P01), a function it
 * lacks (42883), a grant the connector's role lacks (42501). A worker and a store of different versions
 * meet these, or a role set up by hand; waiting helps once every worker runs the store's version or the
 * grant is given, so the step is retried (see `StoreSchemaMismatch` in the failure table).
 */
export function isSchemaRefusal(error: unknown): boolean {
  return postgresFields(error)?.code.startsWith('42') ?? false;
}

/** One line naming what PostgreSQL refused (its words name a column, table or privilege, never a value) and what to do. */
export function describeSchemaRefusal(error: unknown, retry: string): string {
  const fields = postgresFields(error);
  if (!fields) return String(error);
  return (
    `The store refused a statement as not fitting its schema or the connector's grants: ${fields.message} [SQLSTATE ${fields.code}]. ` +
    "A worker and a store of different versions (a worker older or newer than the store's migrations), or a database role " +
    'that lacks a grant, meet this. Run every worker at one version (README, "Upgrading"), or grant the connector\'s role what ' +
    `PostgreSQL names. The step is tried again ${retry}, until the run's retry window ends.`
  );
}

/** A record of the store that cannot be exported as asked (it does not follow the model, or its asset is missing). */
export class ExportRecordError extends Error {
  override readonly name = 'ExportRecordError';
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

/**
 * `npm run export -- --changes --since …` was asked for changes the feed does not hold: an unknown run,
 * one of another connection, or runs older than its retention. The consumer starts again from the
 * current state (`npm run export`) and the run key it belongs to.
 */
export class ChangeFeedRangeError extends Error {
  override readonly name = 'ChangeFeedRangeError';
}
