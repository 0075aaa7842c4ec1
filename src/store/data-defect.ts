import { StoreDataDefectError, postgresFields } from './errors';

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

/** `err` as a StoreDataDefectError naming the cause when it is one; else `err` unchanged (an outage is retried). */
export function asDataDefect(err: unknown, step: string): unknown {
  // Only the fields that name the cause are quoted, never the query's values.
  const fields = postgresFields(err);
  if (!fields) return err;
  const kind = DEFECT_CLASSES[fields.code.slice(0, 2)];
  if (kind === undefined) return err;
  const where = [fields.table && `table ${fields.table}`, fields.constraint && `constraint ${fields.constraint}`, fields.column && `column ${fields.column}`]
    .filter(Boolean)
    .join(', ');
  return new StoreDataDefectError(
    `The ${step} was refused by the store as ${kind} (SQLSTATE ${fields.code}: ${fields.message}${where ? `; ${where}` : ''}). ` +
      'Nothing was committed. This is a defect in what the run staged, not an outage: retrying would fail the same way. ' +
      'Start a new run; if it happens again, report it with this message.',
  );
}
