/**
 * Raw HTTP access to an in-process simulator for the simulator's own tests: every body chunk as it
 * arrived, the bytes before any decompression, and the XML parsed leniently (not the connector's
 * parser, so the tests see what is on the wire).
 */
import { request } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { RunningSimulator } from '../../simulator';

export const HOST_LIST = '/api/2.0/fo/asset/host/';
export const HLD = '/api/2.0/fo/asset/host/vm/detection/';
export const KB = '/api/2.0/fo/knowledge_base/vuln/';
export const QPS_SEARCH = '/qps/rest/2.0/search/am/hostasset';

export type Xml = Record<string, unknown>;

const LIST_ITEMS = new Set([
  'HOST', 'DETECTION', 'ID_RANGE', 'VULN', 'CVE', 'VENDOR_REFERENCE', 'BUGTRAQ', 'SOFTWARE', 'THREAT_INTEL', 'AUTH_TYPE',
  'HostAsset', 'HostAssetInterface', 'TagSimple', 'HostAssetSoftware', 'HostAssetOpenPort', 'EXPLT', 'ITEM',
]);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
  jPath: true,
  isArray: (name, jPath) => LIST_ITEMS.has(name) || (typeof jPath === 'string' && jPath.endsWith('ID_SET.ID')),
});

export function node(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Xml)[key];
  }
  return current;
}

export function list(value: unknown, ...path: string[]): Xml[] {
  const found = node(value, ...path);
  return Array.isArray(found) ? (found as Xml[]) : [];
}

export function text(value: unknown, ...path: string[]): string | undefined {
  const found = node(value, ...path);
  if (typeof found === 'string') return found;
  if (typeof found === 'object' && found !== null && typeof (found as Xml)['#text'] === 'string') return (found as Xml)['#text'] as string;
  return undefined;
}

export interface WireReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Body chunks as the client received them (before decompression). */
  chunks: Buffer[];
  /** The decompressed body, as text. */
  body: string;
  /** Parsed when well-formed, else {}. */
  xml: Xml;
}

export interface WireRequest {
  params?: Record<string, string>;
  form?: Record<string, string>;
  xmlBody?: string;
  acceptEncoding?: string;
}

/** One call with the simulator's first user; POST when there is a body (always for QPS). */
export function wire(sim: RunningSimulator, pathOrUrl: string, options: WireRequest = {}): Promise<WireReply> {
  const url = new URL(pathOrUrl, sim.url);
  for (const [k, v] of Object.entries(options.params ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {
    authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`,
    'x-requested-with': 'jest',
  };
  if (options.acceptEncoding !== undefined) headers['accept-encoding'] = options.acceptEncoding;
  let body: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.xmlBody !== undefined) {
    headers['content-type'] = 'text/xml';
    body = options.xmlBody;
  }
  const method = body !== undefined || url.pathname.startsWith('/qps/') ? 'POST' : 'GET';
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const encoding = res.headers['content-encoding'];
        const decoded = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
        const text = decoded.toString('utf8');
        const xml = XMLValidator.validate(text) === true ? (parser.parse(text) as Xml) : {};
        resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks, body: text, xml });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
