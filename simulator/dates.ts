/** Qualys date handling: UTC, `YYYY-MM-DDTHH:MM:SSZ` (reference §3.2). */

/**
 * The estate's fixed "now". Scan and detection times are generated relative to it so that the ground
 * truth never depends on the wall clock. (RESPONSE/DATETIME, by contrast, is the real time of the call.)
 */
export const ESTATE_NOW_MS = Date.UTC(2025, 9, 31, 12, 0, 0);

export const SECOND_MS = 1000;

/** Module-local aliases: global lookups are slow inside jest's VM contexts (see random.ts). */
const NativeDate = Date;
const floor = Math.floor;
export const DAY_MS = 86_400_000;

/**
 * The "estate now" of a generation: each `advance` moves it one day on, so that scans of a later
 * generation come after every time generated before, and the truth stays independent of the wall clock.
 */
export function estateNowMs(generation: number): number {
  return ESTATE_NOW_MS + generation * DAY_MS;
}

/** Formats epoch milliseconds as a Qualys datetime, truncated to whole seconds. */
export function formatQualysDateTime(epochMs: number): string {
  return new NativeDate(floor(epochMs / SECOND_MS) * SECOND_MS).toISOString().replace('.000Z', 'Z');
}

/** Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`; undefined when the text is not such a date. */
export function parseQualysDate(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})Z)?$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  if (Number.isNaN(ms)) return undefined;
  // Date.UTC rolls 2025-13-45 over into 2026: a real date formats back to the same text.
  const expected = `${y}-${mo}-${d}T${h ?? '00'}:${mi ?? '00'}:${s ?? '00'}`;
  return new NativeDate(ms).toISOString().startsWith(expected) ? ms : undefined;
}
