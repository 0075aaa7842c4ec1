import { StoreDataDefectError } from './errors';

/**
 * SQLSTATE classes that say the data is wrong, not that the database is unreachable: 21 cardinality
 * violation (e.g. one upsert meeting a key twice), 22 data exception (a malformed value), 23 integrity
 * constraint violation. Writing the same data again fails the same way.
 */
const DEFECT_CLASSES: Readonly<Record<string, string>> = {
  '21': 'a cardinality violation',
  '22': 'a malformed value',
  '23': 'a constraint violation',
};

/** A database error as node-postgres reports it (only the fields that name the cause; never the query's values). */
interface PgError {
  code: string;
  message: string;
  table?: string;
  constraint?: string;
  column?: string;
}

function isPgError(err: unknown): err is PgError {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** `err` as a StoreDataDefectError naming the cause when it is one; else `err` unchanged (an outage is retried). */
export function asDataDefect(err: unknown, step: string): unknown {
  if (!isPgError(err)) return err;
  const kind = DEFECT_CLASSES[err.code.slice(0, 2)];
  if (kind === undefined) return err;
  const where = [err.table && `table ${err.table}`, err.constraint && `constraint ${err.constraint}`, err.column && `column ${err.column}`]
    .filter(Boolean)
    .join(', ');
  return new StoreDataDefectError(
    `The ${step} was refused by the store as ${kind} (SQLSTATE ${err.code}: ${err.message}${where ? `; ${where}` : ''}). ` +
      'Nothing was committed. This is a defect in what the run staged, not an outage: retrying would fail the same way. ' +
      'Start a new run; if it happens again, report it with this message.',
  );
}
