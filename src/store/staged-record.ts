import type { z } from 'zod';
import type { PageRange, RunRef } from '../contracts/run';
import { StoreDataDefectError } from './errors';

/**
 * A staged value read back through the schema it was staged by: pages are staged as the client's parsed
 * records and mapped from what the store gives back, so what the mapping reads is checked to be such a
 * record, never assumed. A value that does not fit (staged by a connector whose records differ, or
 * altered in the store) is a defect, not an outage: retrying reads the same thing.
 */
export function readStaged<Schema extends z.ZodType>(schema: Schema, value: unknown, run: RunRef, page: PageRange, what: string): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new StoreDataDefectError(
    `The staged ${what} of page ${page.index + 1} (hosts ${page.idMin}–${page.idMax}) of run ${run.runKey} does not follow its record ` +
      `schema${where}: ${issue?.message ?? 'invalid'}. It was staged by a connector version whose records differ from this one's, ` +
      'or altered in the store. Nothing was committed; start a new run (it fetches the page again). If it happens again, report ' +
      'it with this message.',
  );
}
