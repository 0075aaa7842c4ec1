/**
 * API v2 request parameters: query string and form body merged (the body wins, as the last occurrence
 * of a parameter wins in Qualys), and typed readers that refuse malformed values with the errors
 * Qualys gives (400 CODE 1903 / 1905). Names and values are checked up front by param-rules.ts.
 */
import { parseQualysDate } from './dates';

/** Parameters in first-seen order (so a WARNING URL can echo them back in a stable order). */
export type Params = Map<string, string>;

export function mergeParams(query: URLSearchParams, form: URLSearchParams | undefined): Params {
  const merged: Params = new Map();
  for (const [key, value] of query) merged.set(key, value);
  if (form) for (const [key, value] of form) merged.set(key, value);
  return merged;
}

export function paramsRecord(params: Params): Record<string, string> {
  return Object.fromEntries(params);
}

/** Thrown by validators; the handler turns it into a SIMPLE_RETURN 400. */
export class BadRequest extends Error {
  constructor(
    readonly code: '1901' | '1903' | '1905',
    text: string,
  ) {
    super(text);
    this.name = 'BadRequest';
  }
}

export function requireListAction(params: Params): void {
  const action = params.get('action');
  if (action === undefined || action === '') throw new BadRequest('1903', 'Missing required parameter(s): action');
  if (action !== 'list') throw new BadRequest('1905', `parameter action has invalid value: ${action}`);
}

function invalid(name: string, value: string, detail?: string): BadRequest {
  return new BadRequest('1905', `parameter ${name} has invalid value: ${value}${detail ? ` (${detail})` : ''}`);
}

export function optionalNonNegativeInt(params: Params, name: string): number | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw invalid(name, value);
  return Number(value.trim());
}

export function optionalPositiveInt(params: Params, name: string): number | undefined {
  const n = optionalNonNegativeInt(params, name);
  if (n === 0) throw invalid(name, params.get(name) ?? '');
  return n;
}

/** A 0/1 flag; default false. */
export function booleanFlag(params: Params, name: string): boolean {
  const value = params.get(name);
  if (value === undefined) return false;
  if (value !== '0' && value !== '1') throw invalid(name, value);
  return value === '1';
}

export function oneOf<T extends string>(params: Params, name: string, allowed: readonly T[], fallback: T): T {
  const value = params.get(name);
  if (value === undefined) return fallback;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) throw invalid(name, value);
  return match;
}

export function optionalDate(params: Params, name: string): number | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  const ms = parseQualysDate(value.trim());
  if (ms === undefined) throw invalid(name, value);
  return ms;
}

/** An inclusive interval of IDs. */
export interface IdInterval {
  from: number;
  to: number;
}

/** `ids`/`qids`: comma list of positive integers and `a-b` ranges; sorted and merged. */
export function optionalIdList(params: Params, name: string): IdInterval[] | undefined {
  const value = params.get(name);
  if (value === undefined) return undefined;
  const intervals: IdInterval[] = [];
  for (const raw of value.split(',')) {
    const token = raw.trim();
    const single = /^\d+$/.exec(token);
    const range = /^(\d+)-(\d+)$/.exec(token);
    if (single) {
      const id = Number(token);
      if (id <= 0) throw invalid(name, value, `neither a positive integer nor a range: ${token}`);
      intervals.push({ from: id, to: id });
    } else if (range && Number(range[1]) > 0 && Number(range[1]) <= Number(range[2])) {
      intervals.push({ from: Number(range[1]), to: Number(range[2]) });
    } else {
      throw invalid(name, value, `neither a positive integer nor a range: ${token}`);
    }
  }
  return mergeIntervals(intervals);
}

export function mergeIntervals(intervals: IdInterval[]): IdInterval[] {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const merged: IdInterval[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && interval.from <= last.to + 1) last.to = Math.max(last.to, interval.to);
    else merged.push({ ...interval });
  }
  return merged;
}

export function intervalsContain(intervals: readonly IdInterval[], id: number): boolean {
  let lo = 0;
  let hi = intervals.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const interval = intervals[mid];
    if (interval === undefined) return false;
    if (id < interval.from) hi = mid - 1;
    else if (id > interval.to) lo = mid + 1;
    else return true;
  }
  return false;
}
