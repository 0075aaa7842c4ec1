/**
 * The `ips` and `ipv6` host filters of Host List and Host List Detection: comma lists of IPv4
 * addresses, `a.b.c.d-e.f.g.h` ranges (reference §3.2, qualysdk's parameter list) and CIDR blocks
 * (assumption: accepted as by the IP list APIs), and of IPv6 addresses.
 */

export interface Ipv4Range {
  from: number;
  to: number;
}

export function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

function parseToken(token: string): Ipv4Range | undefined {
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(token);
  if (cidr) {
    const base = ipv4ToNumber(cidr[1] ?? '');
    const bits = Number(cidr[2]);
    if (base === undefined || bits > 32) return undefined;
    const size = 2 ** (32 - bits);
    const from = Math.floor(base / size) * size;
    return { from, to: from + size - 1 };
  }
  const [first, second, ...rest] = token.split('-');
  if (rest.length > 0 || first === undefined) return undefined;
  const from = ipv4ToNumber(first.trim());
  const to = second === undefined ? from : ipv4ToNumber(second.trim());
  if (from === undefined || to === undefined || from > to) return undefined;
  return { from, to };
}

/** The ranges an `ips` value names; undefined when any token is not an address, range or block. */
export function parseIpv4Ranges(value: string): Ipv4Range[] | undefined {
  const ranges: Ipv4Range[] = [];
  for (const raw of value.split(',')) {
    const range = parseToken(raw.trim());
    if (range === undefined) return undefined;
    ranges.push(range);
  }
  return ranges;
}

export function ipv4InRanges(ip: string | undefined, ranges: readonly Ipv4Range[]): boolean {
  const n = ip === undefined ? undefined : ipv4ToNumber(ip);
  return n !== undefined && ranges.some((range) => n >= range.from && n <= range.to);
}

/** Lower-cased IPv6 addresses of an `ipv6` value; undefined when a token is not one. */
export function parseIpv6List(value: string): Set<string> | undefined {
  const addresses = new Set<string>();
  for (const raw of value.split(',')) {
    const token = raw.trim().toLowerCase();
    if (!token.includes(':') || !/^[0-9a-f:.]+$/.test(token)) return undefined;
    addresses.add(token);
  }
  return addresses;
}
