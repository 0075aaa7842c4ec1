/**
 * Asset Management (QPS REST) HostAsset search and count:
 * `POST /qps/rest/2.0/search/am/hostasset` and `POST /qps/rest/2.0/count/am/hostasset`.
 * XML ServiceRequest in, ServiceResponse out; errors ride inside HTTP 200 (reference §6.1).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Estate } from './estate';
import { QPS_TRACKING, writeHostAsset } from './host-asset-xml';
import type { EstateHost } from './hosts';
import { type IdInterval, mergeIntervals } from './params';
import { type ApiReply, QPS_CONTENT_TYPE } from './responses';
import { XmlWriter } from './xml';

export const QPS_SEARCH_PATH = '/qps/rest/2.0/search/am/hostasset';
export const QPS_COUNT_PATH = '/qps/rest/2.0/count/am/hostasset';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export type QpsResponseCode = 'SUCCESS' | 'INVALID_REQUEST' | 'INVALID_CREDENTIALS' | 'UNAUTHORIZED' | 'EVALUATION_EXPIRED';

export interface QpsCriterion {
  field: string;
  operator: string;
  value: string;
}

export interface QpsRequest {
  limitResults: number;
  /** 1-based, as J1 uses it. */
  startFromOffset: number;
  criteria: QpsCriterion[];
}

class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly resolution?: string,
  ) {
    super(message);
  }
}

function serviceResponseWriter(baseUrl: string): XmlWriter {
  const xml = new XmlWriter({ declaration: '<?xml version="1.0" encoding="UTF-8"?>\n' });
  xml.start('ServiceResponse', {
    'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    'xsi:noNamespaceSchemaLocation': `${baseUrl}/qps/xsd/2.0/am/hostasset.xsd`,
  });
  return xml;
}

/** An error ServiceResponse (always HTTP 200, as real QPS answers). */
export function qpsErrorReply(baseUrl: string, code: Exclude<QpsResponseCode, 'SUCCESS'>, message: string, resolution?: string): ApiReply {
  const xml = serviceResponseWriter(baseUrl);
  xml.text('responseCode', code);
  xml.start('responseErrorDetails');
  xml.text('errorMessage', message);
  xml.text('errorResolution', resolution);
  xml.end();
  xml.end();
  return { status: 200, contentType: QPS_CONTENT_TYPE, body: xml.toString(), code, errorKey: `qps/${code}` };
}

export const qpsInvalidCredentials = (baseUrl: string): ApiReply =>
  qpsErrorReply(baseUrl, 'INVALID_CREDENTIALS', 'Authentication failed', 'Verify both, user and password credentials.');

export const qpsUnauthorized = (baseUrl: string): ApiReply =>
  qpsErrorReply(baseUrl, 'UNAUTHORIZED', 'You are not authorized to access the application through the API.');

/** Assumption: an expired account gets EVALUATION_EXPIRED on QPS (the code J1 saw for expired evaluations). */
export const qpsEvaluationExpired = (baseUrl: string): ApiReply =>
  qpsErrorReply(baseUrl, 'EVALUATION_EXPIRED', 'This account has expired.');

// ---------------------------------------------------------------------------------------------------
// Request parsing

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  const record = asRecord(value);
  return record ? asText(record['#text']) : undefined;
}

const requestParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'Criteria',
});

function parseLimit(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) throw new InvalidRequest(`Invalid value for ${name} (${text}).`, `Specify ${name} as Integer.`);
  return Number(text);
}

export function parseQpsRequest(body: string): QpsRequest {
  if (body.trim() === '') return { limitResults: DEFAULT_LIMIT, startFromOffset: 1, criteria: [] };
  if (XMLValidator.validate(body) !== true) throw new InvalidRequest('Request body is not well-formed XML.', 'Send a valid ServiceRequest XML document.');
  const document = asRecord(requestParser.parse(body));
  const request = asRecord(document?.['ServiceRequest']);
  if (!request) throw new InvalidRequest('Missing ServiceRequest element.', 'Send a valid ServiceRequest XML document.');
  const preferences = asRecord(request['preferences']);
  // Assumption: limitResults above the documented maximum of 1000 is capped, not refused.
  const limit = Math.min(MAX_LIMIT, Math.max(1, parseLimit(asText(preferences?.['limitResults']), 'limitResults', DEFAULT_LIMIT)));
  const offset = Math.max(1, parseLimit(asText(preferences?.['startFromOffset']), 'startFromOffset', 1));
  const filters = asRecord(request['filters']);
  const rawCriteria = filters?.['Criteria'];
  const criteria: QpsCriterion[] = [];
  if (Array.isArray(rawCriteria)) {
    for (const raw of rawCriteria) {
      const record = asRecord(raw);
      const field = asText(record?.['@_field']) ?? '';
      const operator = (asText(record?.['@_operator']) ?? '').toUpperCase();
      criteria.push({ field, operator, value: asText(raw) ?? '' });
    }
  }
  return { limitResults: limit, startFromOffset: offset, criteria };
}

// ---------------------------------------------------------------------------------------------------
// Selection: criteria on qwebHostId / id become index intervals; trackingMethod is a predicate.

interface Selection {
  intervals: IdInterval[];
  trackingMethods?: ReadonlySet<string>;
}

function longValues(criterion: QpsCriterion): number[] {
  const tokens = criterion.operator === 'IN' ? criterion.value.split(',').map((t) => t.trim()) : [criterion.value];
  return tokens.map((token) => {
    if (!/^\d+$/.test(token)) {
      throw new InvalidRequest(
        `Criteria: Invalid value format for criteria '${criterion.field}' (${criterion.value}).`,
        'Specify criteria value(s) as Long.',
      );
    }
    return Number(token);
  });
}

function intersect(a: IdInterval[], b: IdInterval[]): IdInterval[] {
  const out: IdInterval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as IdInterval;
    const y = b[j] as IdInterval;
    const from = Math.max(x.from, y.from);
    const to = Math.min(x.to, y.to);
    if (from <= to) out.push({ from, to });
    if (x.to < y.to) i++;
    else j++;
  }
  return out;
}

function numericCriterion(
  criterion: QpsCriterion,
  size: number,
  lowerBound: (id: number) => number,
  exactIndex: (id: number) => number | undefined,
): IdInterval[] {
  const values = longValues(criterion);
  switch (criterion.operator) {
    case 'EQUALS':
    case 'IN': {
      const found = values.map(exactIndex).filter((i): i is number => i !== undefined);
      return mergeIntervals(found.map((i) => ({ from: i, to: i })));
    }
    case 'GREATER':
      return [{ from: lowerBound((values[0] ?? 0) + 1), to: size - 1 }];
    case 'LESSER':
      return [{ from: 0, to: lowerBound(values[0] ?? 0) - 1 }];
    default:
      throw new InvalidRequest(
        `Criteria: Operator '${criterion.operator}' is not supported for field '${criterion.field}'.`,
        'Use one of EQUALS, IN, GREATER, LESSER.',
      );
  }
}

function selectionFor(estate: Estate, criteria: QpsCriterion[]): Selection {
  // Intervals of host indexes (removed hosts' included; matchingIndexes skips them).
  const count = estate.indexCount;
  let intervals: IdInterval[] = count > 0 ? [{ from: 0, to: count - 1 }] : [];
  let trackingMethods: Set<string> | undefined;
  for (const criterion of criteria) {
    switch (criterion.field) {
      case 'qwebHostId':
        intervals = intersect(intervals, numericCriterion(criterion, count, (id) => estate.ids.lowerBoundHostId(id), (id) => estate.ids.indexOfHostId(id)));
        break;
      case 'id':
        intervals = intersect(intervals, numericCriterion(criterion, count, (id) => estate.ids.lowerBoundAssetId(id), (id) => estate.ids.indexOfAssetId(id)));
        break;
      case 'trackingMethod': {
        if (criterion.operator !== 'EQUALS' && criterion.operator !== 'IN') {
          throw new InvalidRequest(`Criteria: Operator '${criterion.operator}' is not supported for field 'trackingMethod'.`, 'Use EQUALS or IN.');
        }
        const wanted = new Set(criterion.value.split(',').map((t) => t.trim().toUpperCase()));
        trackingMethods = trackingMethods ? new Set([...trackingMethods].filter((m) => wanted.has(m))) : wanted;
        break;
      }
      default:
        // Assumption/limitation: other HostAsset fields are not simulated and are refused as invalid criteria.
        throw new InvalidRequest(`Criteria: Unsupported field '${criterion.field}'.`, 'Use qwebHostId, id or trackingMethod.');
    }
  }
  return { intervals, trackingMethods };
}

function* matchingIndexes(estate: Estate, selection: Selection): Generator<number> {
  for (const interval of selection.intervals) {
    for (let index = interval.from; index <= interval.to; index++) {
      if (!estate.isPresent(index) || !estate.hasHostAsset(index)) continue;
      if (selection.trackingMethods && !selection.trackingMethods.has(QPS_TRACKING[estate.trackingMethod(index)])) continue;
      yield index;
    }
  }
}

/** Handles search (`count` false) or count (`count` true) for an authorised user. */
export function handleHostAsset(estate: Estate, baseUrl: string, body: string, count: boolean): { reply: ApiReply; request?: QpsRequest } {
  let request: QpsRequest;
  let selection: Selection;
  try {
    request = parseQpsRequest(body);
    selection = selectionFor(estate, request.criteria);
  } catch (error) {
    if (error instanceof InvalidRequest) return { reply: qpsErrorReply(baseUrl, 'INVALID_REQUEST', error.message, error.resolution) };
    throw error;
  }
  const xml = serviceResponseWriter(baseUrl);
  xml.text('responseCode', 'SUCCESS');
  if (count) {
    let total = 0;
    const matches = matchingIndexes(estate, selection);
    while (!matches.next().done) total++;
    xml.text('count', total);
    xml.end();
    return { reply: { status: 200, contentType: QPS_CONTENT_TYPE, body: xml.toString(), code: 'SUCCESS' }, request };
  }
  const page: EstateHost[] = [];
  let skipped = 0;
  let hasMore = false;
  for (const index of matchingIndexes(estate, selection)) {
    if (skipped < request.startFromOffset - 1) {
      skipped++;
      continue;
    }
    if (page.length === request.limitResults) {
      hasMore = true;
      break;
    }
    page.push(estate.host(index));
  }
  xml.text('count', page.length);
  xml.text('hasMoreRecords', hasMore ? 'true' : 'false');
  const last = page[page.length - 1];
  if (last) xml.text('lastId', last.assetId);
  if (page.length > 0) {
    xml.start('data');
    for (const host of page) writeHostAsset(xml, host, estate.profile, estate.seed);
    xml.end();
  }
  xml.end();
  return { reply: { status: 200, contentType: QPS_CONTENT_TYPE, body: xml.toString(), code: 'SUCCESS' }, request };
}
