/**
 * Host filters shared by Host List and Host List Detection (reference §3.2 and §4), ANDed as Qualys
 * combines them. Values were validated by checkParams (param-rules.ts) before they are read here.
 *
 * - `ips`, `ipv6`: the host's address is in one of the given addresses, ranges or blocks.
 * - `os_pattern`: the OS string matches the regular expression (a host without an OS matches as "").
 * - `vm_scan_since` / `no_vm_scan_since`: last VM scan on or after the date / before it or never.
 * - `vm_scan_date_after` / `vm_scan_date_before`: last VM scan strictly after / before.
 * - `vm_processed_after` / `vm_processed_before`: the scan's processing time strictly after / before;
 *   for hosts an `advance` added or changed that is its wall-clock time (Estate.processedMs).
 * - `trurisk_min` / `trurisk_max` (Host List): the TruRisk score within the bounds.
 */
import { parseQualysDate } from './dates';
import type { EstateHost } from './hosts';
import { ipv4InRanges, type Ipv4Range, parseIpv4Ranges, parseIpv6List } from './ip-filters';
import { compilePattern } from './param-rules';
import type { Params } from './params';

export interface HostFilter {
  ips?: Ipv4Range[];
  ipv6?: Set<string>;
  osPattern?: RegExp;
  scanSinceMs?: number;
  noScanSinceMs?: number;
  scanAfterMs?: number;
  scanBeforeMs?: number;
  processedAfterMs?: number;
  processedBeforeMs?: number;
  truriskMin?: number;
  truriskMax?: number;
}

function date(params: Params, name: string): number | undefined {
  const value = params.get(name);
  return value === undefined ? undefined : parseQualysDate(value.trim());
}

function number(params: Params, name: string): number | undefined {
  const value = params.get(name);
  return value === undefined ? undefined : Number(value.trim());
}

export function readHostFilter(params: Params): HostFilter {
  const ips = params.get('ips');
  const ipv6 = params.get('ipv6');
  const pattern = params.get('os_pattern');
  return {
    ips: ips === undefined ? undefined : parseIpv4Ranges(ips.trim()),
    ipv6: ipv6 === undefined ? undefined : parseIpv6List(ipv6.trim()),
    osPattern: pattern === undefined ? undefined : compilePattern(pattern),
    scanSinceMs: date(params, 'vm_scan_since'),
    noScanSinceMs: date(params, 'no_vm_scan_since'),
    scanAfterMs: date(params, 'vm_scan_date_after'),
    scanBeforeMs: date(params, 'vm_scan_date_before'),
    processedAfterMs: date(params, 'vm_processed_after'),
    processedBeforeMs: date(params, 'vm_processed_before'),
    truriskMin: number(params, 'trurisk_min'),
    truriskMax: number(params, 'trurisk_max'),
  };
}

/** Whether the filter selects every host (so Host List can list IDs without generating hosts). */
export function selectsEveryHost(filter: HostFilter): boolean {
  return Object.values(filter).every((value) => value === undefined);
}

const after = (value: number | undefined, bound: number | undefined): boolean => bound === undefined || (value !== undefined && value > bound);
const before = (value: number | undefined, bound: number | undefined): boolean => bound === undefined || (value !== undefined && value < bound);

/** `processedMs`: when Qualys processed the host's latest scan (Estate.processedMs). */
export function hostPasses(host: EstateHost, processedMs: number | undefined, filter: HostFilter): boolean {
  const scan = host.lastVmScanMs;
  return (filter.ips === undefined || ipv4InRanges(host.ip, filter.ips))
    && (filter.ipv6 === undefined || (host.ipv6 !== undefined && filter.ipv6.has(host.ipv6.toLowerCase())))
    && (filter.osPattern === undefined || filter.osPattern.test(host.os ?? ''))
    && (filter.scanSinceMs === undefined || (scan !== undefined && scan >= filter.scanSinceMs))
    && (filter.noScanSinceMs === undefined || scan === undefined || scan < filter.noScanSinceMs)
    && after(scan, filter.scanAfterMs)
    && before(scan, filter.scanBeforeMs)
    && after(processedMs, filter.processedAfterMs)
    && before(processedMs, filter.processedBeforeMs)
    && (filter.truriskMin === undefined || (host.truriskScore !== undefined && host.truriskScore >= filter.truriskMin))
    && (filter.truriskMax === undefined || (host.truriskScore !== undefined && host.truriskScore <= filter.truriskMax));
}
