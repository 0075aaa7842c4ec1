import { z } from 'zod';

// The input of a `qualysSync` run. It names a connection profile; it never carries credentials, which
// the worker resolves from its own configuration. Unknown fields are rejected so a typo is not ignored.
export const syncInputSchema = z
  .object({
    connection: z
      .string({ error: 'connection is required: the name of a connection profile configured on the worker, e.g. "default"' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'connection must be 1–64 letters, digits, "_", "." or "-"'),
    pageSize: z.number().int().min(1).max(10_000).optional().describe('hosts per page (ID range); default 1000'),
    maxConcurrency: z.number().int().min(1).max(50).optional().describe('pages in flight at once; default 1'),
  })
  .strict();

export type SyncInput = z.infer<typeof syncInputSchema>;

export const DEFAULT_PAGE_SIZE = 1000;

/** Turns a zod failure into one line that names each field and what is wrong with it. */
export function describeInputProblems(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : 'input';
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}
