/**
 * Host selection and truncation shared by Host List and Host List Detection: hosts in ascending ID
 * order filtered by `ids`/`id_min`/`id_max`, cut at `truncation_limit`, with the next page's
 * `id_min` for the `WARNING` (CODE 1980) URL.
 */
import type { Estate } from './estate';
import type { IdInterval, Params } from './params';
import { XmlWriter } from './xml';

export interface HostSelection {
  ids?: IdInterval[];
  idMin?: number;
  idMax?: number;
}

/**
 * Indexes of the selected hosts of the current generation, ascending, found by lower-bound lookups
 * (nothing materialised).
 */
export function* selectedHostIndexes(estate: Pick<Estate, 'ids' | 'isPresent'>, selection: HostSelection): Generator<number> {
  const space = estate.ids;
  const low = selection.idMin ?? 0;
  const high = selection.idMax ?? Number.MAX_SAFE_INTEGER;
  const ranges = selection.ids ?? [{ from: low, to: high }];
  for (const range of ranges) {
    const from = Math.max(range.from, low);
    const to = Math.min(range.to, high);
    if (from > to) continue;
    for (let index = space.lowerBoundHostId(from); index < space.size && space.hostId(index) <= to; index++) {
      if (estate.isPresent(index)) yield index;
    }
  }
}

export interface Page<T> {
  items: T[];
  /** The host ID the next page starts at; undefined on the last page. */
  nextIdMin?: number;
}

/**
 * Takes up to `limit` accepted hosts (0 = no limit). `accept` returns the rendered item or undefined to
 * skip the host (e.g. HLD hosts without matching detections). Looks one host ahead so that the last
 * page carries no WARNING.
 */
export function takePage<T>(
  indexes: Iterable<number>,
  accept: (index: number) => T | undefined,
  limit: number,
  hostId: (index: number) => number,
): Page<T> {
  const items: T[] = [];
  for (const index of indexes) {
    const item = accept(index);
    if (item === undefined) continue;
    if (limit > 0 && items.length === limit) return { items, nextIdMin: hostId(index) };
    items.push(item);
  }
  return { items };
}

/**
 * The request again with `id_min` set to the next host ID. Assumption: the URL echoes every parameter,
 * including those sent in a POST body (unconfirmed in the reference, §3.5), in first-seen order.
 */
export function nextPageUrl(baseUrl: string, path: string, params: Params, nextIdMin: number): string {
  const parts: string[] = [];
  for (const [key, value] of params) {
    if (key !== 'id_min') parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value).replace(/%2C/gi, ',')}`);
  }
  parts.push(`id_min=${nextIdMin}`);
  return `${baseUrl}${path}?${parts.join('&')}`;
}

/** `RESPONSE/WARNING` with CODE 1980, the documented TEXT and the next-page URL in CDATA. */
export function writeTruncationWarning(xml: XmlWriter, limit: number, url: string): void {
  xml.start('WARNING');
  xml.text('CODE', '1980');
  xml.text('TEXT', `${limit} record limit exceeded. Use URL to get next batch of results.`);
  xml.cdata('URL', url);
  xml.end();
}
