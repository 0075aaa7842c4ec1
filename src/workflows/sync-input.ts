import { z } from 'zod';

// The input of a `qualysSync` run. It names a connection profile; it never carries credentials, which
// the worker resolves from its own configuration. Unknown fields are rejected so a typo is not ignored.
export const syncInputSchema = z
  .object({
    connection: z
      .string({ error: 'connection is required: the name of a connection profile configured on the worker, e.g. "default"' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'connection must be 1–64 letters, digits, "_", "." or "-"'),
    pageSize: z.number().int().min(1).max(10_000).optional().describe('hosts per page (ID range); default 1000'),
    maxConcurrency: z
      .number()
      .int()
      .min(1)
      .max(50)
      .optional()
      .describe('pages in flight at most; by default one more than the calls per API the subscription allows (its concurrency limit minus one), which stay the ceiling for calls'),
    statuses: z
      .array(z.enum(['New', 'Active', 'Re-Opened', 'Fixed']))
      .min(1)
      .optional()
      .describe('detection statuses to fetch; default all four'),
    heartbeatTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .optional()
      .describe('how soon a page held by a worker that died is handed to another; default 120'),
    retryWindowMinutes: z
      .number()
      .min(0.1)
      .max(10_080)
      .optional()
      .describe('how long a step keeps retrying transient failures (Qualys or database down) before the run fails; default 360 (6 h)'),
    mode: z
      .enum(['full', 'incremental', 'auto'])
      .optional()
      .describe('full: every host; incremental: only hosts Qualys processed since the last committed run; auto (default): incremental while the last full run is younger than fullEveryHours'),
    fullEveryHours: z
      .number()
      .min(0)
      .max(8_760)
      .optional()
      .describe('in auto mode, a full run when the last committed full run is this old; default 168 (7 days)'),
    overlapMinutes: z
      .number()
      .min(0)
      .max(1_440)
      .optional()
      .describe('an incremental run asks for hosts processed since the watermark minus this; default 60'),
    allowShrink: z
      .boolean()
      .optional()
      .describe('commit even when the host count dropped to 0 or by more than maxShrinkShare since the last committed run'),
    maxShrinkShare: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('the largest drop in host count (share of the last committed run) a run may commit; default 0.5'),
    maxRejectedShare: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'the largest share of the records read that may be set aside as unreadable (rejected_records) for the run to commit; default 0.001',
      ),
    removedAssetRetentionDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .optional()
      .describe('how long a removed asset and its findings are kept; default 30'),
  })
  .strict();

export type SyncInput = z.infer<typeof syncInputSchema>;

export const DEFAULT_PAGE_SIZE = 1000;
/** The cap on pages in flight before they followed the subscription's limit (see `legacyCallsPerApiFor`). */
export const LEGACY_MAX_CONCURRENCY = 4;
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 120;
export const DEFAULT_RETRY_WINDOW_MINUTES = 360;
export const DEFAULT_FULL_EVERY_HOURS = 168;
export const DEFAULT_OVERLAP_MINUTES = 60;
export const DEFAULT_MAX_SHRINK_SHARE = 0.5;
export { DEFAULT_MAX_REJECTED_SHARE } from '../contracts/run';
export const DEFAULT_REMOVED_ASSET_RETENTION_DAYS = 30;

/** Turns a zod failure into one line that names each field and what is wrong with it. */
export function describeInputProblems(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join('.') : 'input';
      return `${field}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Calls at once per API (and pages applied at once): what the subscription allows per API — its
 * concurrency limit minus one slot kept free for the customer's other Qualys tools (and at least one) —
 * or less when the input caps it. Each page makes one call per API at a time, so the per-API slots (the
 * true bound) are all used, none exceeded.
 */
export function callsPerApiFor(configuredCap: number | undefined, subscriptionConcurrencyLimit: number | undefined): number {
  const allowed = Math.max(1, (subscriptionConcurrencyLimit ?? 2) - 1);
  return configuredCap === undefined ? allowed : Math.min(configuredCap, allowed);
}

/**
 * Pages fetched at once: two more than the calls each API may have in flight. A page's lane fetches it,
 * then applies it; with two pages beyond the calls, one page's body can still be staged and another be
 * applied (or a KnowledgeBase round's pages) while the next page's calls already run. The calls themselves stay within `callsPerApi`: every call takes one of the
 * store's per-API slots first. An input cap is a cap on pages, and is kept. (Runs started before the
 * `applies-beside-fetches` patch kept one page beyond the calls.)
 */
export function pagesInFlightFor(configuredCap: number | undefined, callsPerApi: number, beyondCalls = PAGES_BEYOND_CALLS): number {
  return Math.min(configuredCap ?? Number.POSITIVE_INFINITY, callsPerApi + beyondCalls);
}

/** Pages in flight beyond the calls each API may have at once (see `pagesInFlightFor`). */
export const PAGES_BEYOND_CALLS = 2;

/**
 * Pages in flight as runs started before `callsPerApiFor` followed the limit computed it (a default cap
 * of 4). A run in flight on a subscription whose limit is above 5 replays only with this value: the
 * workflow chooses between the two behind `patched('pages-follow-the-limit')`.
 */
export function legacyCallsPerApiFor(configuredCap: number | undefined, subscriptionConcurrencyLimit: number | undefined): number {
  return Math.min(configuredCap ?? LEGACY_MAX_CONCURRENCY, callsPerApiFor(undefined, subscriptionConcurrencyLimit));
}
