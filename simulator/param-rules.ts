/**
 * What each API v2 parameter may hold, checked before an endpoint reads any of them, so that every
 * endpoint answers as Qualys does (reference §8, appendix_d): a name it does not know → HTTP 400 CODE
 * 1901 "Unrecognized parameter(s): …"; a known name with a malformed value → HTTP 400 CODE 1905
 * "parameter <name> has invalid value: <value>" (the wording J1 recorded for `ids=abc123`).
 * Every known parameter is validated even where the simulator does not act on it.
 */
import { parseQualysDate } from './dates';
import { parseIpv4Ranges, parseIpv6List } from './ip-filters';
import { BadRequest, optionalIdList, type Params } from './params';

export type ParamRule =
  /** 0 or 1. */
  | 'flag'
  /** YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ. */
  | 'date'
  /** A whole number ≥ 0. */
  | 'count'
  /** Comma list of positive integers and a-b ranges (ids, qids). */
  | 'ids'
  /** Comma list of IPv4 addresses, a.b.c.d-e.f.g.h ranges and CIDR blocks. */
  | 'ipv4s'
  | 'ipv6s'
  /** A regular expression (os_pattern: PCRE in Qualys; JavaScript's syntax is close enough). */
  | 'pattern'
  /** Free text, not empty. */
  | 'text'
  | { oneOf: readonly string[] }
  | { listOf: readonly string[] }
  | { range: readonly [number, number] };

export type ParamRules = Readonly<Record<string, ParamRule>>;

function invalid(name: string, value: string, detail?: string): BadRequest {
  return new BadRequest('1905', `parameter ${name} has invalid value: ${value}${detail ? ` (${detail})` : ''}`);
}

function checkValue(params: Params, name: string, value: string, rule: ParamRule): void {
  const trimmed = value.trim();
  if (typeof rule === 'object') {
    if ('oneOf' in rule) {
      if (!rule.oneOf.includes(trimmed)) throw invalid(name, value);
    } else if ('listOf' in rule) {
      if (trimmed === '' || trimmed.split(',').some((token) => !rule.listOf.includes(token.trim()))) throw invalid(name, value);
    } else {
      const n = Number(trimmed);
      if (!/^\d+$/.test(trimmed) || n < rule.range[0] || n > rule.range[1]) throw invalid(name, value);
    }
    return;
  }
  switch (rule) {
    case 'flag':
      if (trimmed !== '0' && trimmed !== '1') throw invalid(name, value);
      return;
    case 'date':
      if (parseQualysDate(trimmed) === undefined) throw invalid(name, value);
      return;
    case 'count':
      if (!/^\d+$/.test(trimmed)) throw invalid(name, value);
      return;
    case 'ids':
      optionalIdList(params, name);
      return;
    case 'ipv4s':
      if (parseIpv4Ranges(trimmed) === undefined) throw invalid(name, value);
      return;
    case 'ipv6s':
      if (parseIpv6List(trimmed) === undefined) throw invalid(name, value);
      return;
    case 'pattern':
      // Assumption: an empty pattern is refused, as the documentation says one "cannot be specified".
      if (trimmed === '' || compilePattern(value) === undefined) throw invalid(name, value);
      return;
    case 'text':
      if (trimmed === '') throw invalid(name, value);
      return;
  }
}

/** The regular expression of an `os_pattern` value; undefined when it does not compile. */
export function compilePattern(value: string): RegExp | undefined {
  try {
    return new RegExp(value);
  } catch {
    return undefined;
  }
}

/** 1901 for names outside `rules` (all of them, in one message), then 1905 for the first bad value. */
export function checkParams(params: Params, rules: ParamRules): void {
  const unknown = [...params.keys()].filter((name) => !Object.hasOwn(rules, name));
  if (unknown.length > 0) throw new BadRequest('1901', `Unrecognized parameter(s): ${unknown.join(',')}`);
  for (const [name, value] of params) {
    const rule = rules[name];
    if (rule !== undefined && name !== 'action') checkValue(params, name, value, rule);
  }
}
