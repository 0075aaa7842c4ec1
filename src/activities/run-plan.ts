import type { PageRange, RunPlan } from '../contracts/run';

export interface PlanRequest {
  mode: 'full' | 'incremental' | 'auto';
  fullEveryHours: number;
  overlapMinutes: number;
}

/**
 * Full or incremental. Every time here is Qualys' (the stored watermarks, and `qualysNow` from the
 * run's first answer), so a worker whose clock is off decides exactly as one whose clock is right.
 */
export function planRun(request: PlanRequest, state: { watermark?: string; lastFullAt?: string }, qualysNow: string | undefined): RunPlan {
  if (request.mode === 'full') return { mode: 'full', reason: 'a full run was asked for' };
  if (!state.watermark || !state.lastFullAt) return { mode: 'full', reason: 'the connection has no committed full run yet' };
  const since = qualysDateTime(Date.parse(state.watermark) - request.overlapMinutes * 60_000);
  if (request.mode === 'incremental') return { mode: 'incremental', since, reason: 'an incremental run was asked for' };
  const now = qualysNow ? Date.parse(qualysNow) : NaN;
  if (Number.isNaN(now)) return { mode: 'full', reason: "Qualys' time is unknown (its answer had no DATETIME)" };
  const ageHours = (now - Date.parse(state.lastFullAt)) / 3_600_000;
  const age = `the last full run is ${ageHours.toFixed(1)} h old`;
  const every = `a full run every ${request.fullEveryHours} h`;
  if (ageHours >= request.fullEveryHours) return { mode: 'full', reason: `${age}, ${every}` };
  return { mode: 'incremental', since, reason: `${age}, ${every}` };
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the form Qualys' date filters take. */
export function qualysDateTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

/** Cuts the sorted host ID set into contiguous ID ranges of at most `pageSize` hosts. */
export function cutIntoPages(sortedIds: readonly number[], pageSize: number): PageRange[] {
  // Read in place: at a million hosts, slicing the set first would copy it once more.
  const pages: PageRange[] = [];
  for (let start = 0; start < sortedIds.length; start += pageSize) {
    const end = Math.min(start + pageSize, sortedIds.length);
    pages.push({ index: pages.length, idMin: sortedIds[start], idMax: sortedIds[end - 1], hosts: end - start });
  }
  return pages;
}

/** Whether `id` is in the ascending ID set (a binary search: no second copy of a million-host set). */
export function sortedIncludes(sortedIds: readonly number[], id: number): boolean {
  let low = 0;
  let high = sortedIds.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = sortedIds[middle];
    if (value === id) return true;
    if (value < id) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** The host IDs of each page `cutIntoPages` makes, in page order. */
export function hostsOfPages(sortedIds: readonly number[], pageSize: number): number[][] {
  const slices: number[][] = [];
  for (let start = 0; start < sortedIds.length; start += pageSize) slices.push(sortedIds.slice(start, start + pageSize));
  return slices;
}
