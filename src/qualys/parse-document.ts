import type { z } from 'zod';
import { endpointInfo } from './endpoints';
import { QualysError } from './errors';
import { isRecord, malformed, unexpectedRoot, type XmlContext, type XmlDocument } from './xml-document';
import type { RouteStep } from './xml-tree-builder';

/**
 * Validates a parsed document against its zod schema. Anything that does not fit is a
 * `malformed-response` naming where and what, never a silently empty or partial result.
 */
export function parseDocument<Schema extends z.ZodType>(
  schema: Schema,
  document: XmlDocument,
  expectedRoot: string,
  context: XmlContext,
): z.output<Schema> {
  if (document.rootName !== expectedRoot) throw unexpectedRoot(document, [expectedRoot], context);
  const result = schema.safeParse(document.root);
  if (result.success) return result.data;
  throw shapeError(result.error.issues, { value: document.root, path: [expectedRoot], record: false }, context);
}

/** Where a record sits in its document: the element names from the root, then its index in its list. */
export interface RecordLocation {
  /** e.g. ['HOST_LIST_OUTPUT', 'RESPONSE', 'HOST_LIST', 'HOST'] */
  path: readonly string[];
  index: number;
  /** The record's element holding the Qualys host ID it is about (`ID` of a HOST, `qwebHostId` of a HostAsset). */
  hostIdKey?: string;
}

/** A record that cannot be read even without its odd values: where, why, and its XML (at most 64 KiB). */
export interface RejectedRecord {
  /** Its path from the root with its index, and the records on it: `…HOST_LIST.HOST[3] (HOST ID 120)`. */
  path: string;
  reason: string;
  xml: string;
  /** The Qualys host ID it is about, when one could be read (what it holds in the store is then kept as it is). */
  hostId?: string;
}

/** What reading records met besides records: values dropped, records rejected. */
export interface RecordOutcomes {
  /** A value of unexpected form dropped from its record (`DETECTION.PORT`). */
  dropped(field: string): void;
  /** A record that cannot be read. Without it, such a record fails the page (non-retryable `malformed-response`). */
  reject?: (record: RejectedRecord) => void;
}

/**
 * Never dropped: lists whose loss would read as findings, CVEs or interfaces gone (a record with an odd
 * one is rejected instead, and what the store holds for it stays as it is).
 */
const NEVER_DROPPED: ReadonlySet<string> = new Set(['DETECTION_LIST', 'DETECTION', 'CVE_LIST', 'CVE', 'networkInterface', 'sourceInfo', 'list']);

/** How many times the odd values of one record are dropped before it is given up (each round drops all zod reported). */
const DROP_ROUNDS = 4;

/**
 * Validates one record (a HOST, a VULN, a HostAsset) as soon as it has been read. A value of
 * unexpected form in a field that may be absent (a PORT that is not a number, a SEVERITY of 9, a leaf
 * that arrived with child elements) is dropped and counted, and the record read without it: Qualys'
 * DTDs make every such field optional. A record that still does not fit — no host ID, no QID, a
 * broken structure — is handed to `outcomes.reject` with the message a whole document would give
 * (its path from the root and the records on it), or, without one, fails the page.
 */
export function parseRecord<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  location: RecordLocation,
  context: XmlContext,
  outcomes?: RecordOutcomes,
): z.output<Schema> | undefined {
  const first = schema.safeParse(value);
  if (first.success) return first.data;
  const at = { value, path: [...location.path, location.index], record: true };
  if (outcomes !== undefined) {
    const repaired = withoutOddValues(schema, value, first.error.issues, location.path.at(-1) ?? '');
    if (repaired !== undefined) {
      for (const field of repaired.dropped) outcomes.dropped(field);
      return repaired.data;
    }
  }
  const error = shapeError(first.error.issues, at, context);
  if (outcomes?.reject === undefined) throw error;
  const hostId = readableHostId(value, location.hostIdKey);
  outcomes.reject({
    path: recordPath(at),
    reason: error.message,
    xml: recordXml(location.path.at(-1) ?? 'record', value),
    ...(hostId === undefined ? {} : { hostId }),
  });
  return undefined;
}

/**
 * The host ID a refused record names, if it is a whole number as Qualys writes IDs (else it cannot be
 * trusted), of at most 18 digits (a 64-bit integer whatever the digits; Qualys' are far shorter).
 */
function readableHostId(value: unknown, key: string | undefined): string | undefined {
  if (key === undefined || !isRecord(value)) return undefined;
  const id = value[key];
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const text = String(id).trim();
  return /^[0-9]{1,18}$/.test(text) ? text : undefined;
}

/** The record read with the values zod refused removed, if that is enough; undefined if not. */
function withoutOddValues<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  issues: readonly z.core.$ZodIssue[],
  recordName: string,
): { data: z.output<Schema>; dropped: string[] } | undefined {
  const copy: unknown = structuredClone(value);
  const dropped: string[] = [];
  let current = issues;
  for (let round = 0; round < DROP_ROUNDS; round++) {
    let removed = false;
    for (const issue of current) {
      const field = removeAt(copy, issue.path, recordName);
      if (field === undefined) return undefined;
      dropped.push(field);
      removed = true;
    }
    if (!removed) return undefined;
    const again = schema.safeParse(copy);
    if (again.success) return { data: again.data, dropped };
    current = again.error.issues;
  }
  return undefined;
}

/**
 * Removes the value at `path` (an issue's path) from its parent object; the field's name as
 * `PARENT.NAME`, or undefined when nothing is there to remove (the value is missing: a required field).
 */
function removeAt(root: unknown, path: ReadonlyArray<PropertyKey>, recordName: string): string | undefined {
  if (path.length === 0) return undefined;
  let node: unknown = root;
  let parentName = recordName;
  for (const segment of path.slice(0, -1)) {
    if (typeof segment === 'string') parentName = segment;
    if (isRecord(node)) node = Object.hasOwn(node, segment as string) ? node[segment as string] : undefined;
    else if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else return undefined;
  }
  const key = path[path.length - 1];
  if (!isRecord(node) || typeof key !== 'string' || NEVER_DROPPED.has(key) || !Object.hasOwn(node, key) || node[key] === undefined) return undefined;
  delete node[key];
  return parentName === '' ? key : `${parentName}.${key}`;
}

/** A record's path from the root with its index, and its identity when it has one. */
function recordPath(at: { value: unknown; path: ReadonlyArray<PropertyKey> }): string {
  const element = [...at.path].reverse().find((segment): segment is string => typeof segment === 'string') ?? '';
  const named = recordsOnPath(at.value, element, []);
  return `${formatPath(at.path)}${named ? ` (${named})` : ''}`;
}

const REJECTED_XML_MAX_CHARS = 64 * 1024;

/** The record as XML again (from what was read: names, attributes, trimmed text), cut at 64 KiB. */
function recordXml(name: string, value: unknown): string {
  let out = '';
  const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const write = (element: string, node: unknown): void => {
    if (out.length > REJECTED_XML_MAX_CHARS) return;
    if (Array.isArray(node)) {
      for (const item of node) write(element, item);
      return;
    }
    if (!isRecord(node)) {
      out += node === '' || node === undefined ? `<${element}/>` : `<${element}>${escape(String(node))}</${element}>`;
      return;
    }
    const attributes = Object.entries(node)
      .filter(([key]) => key.startsWith('@'))
      .map(([key, text]) => ` ${key.slice(1)}="${escape(String(text)).replace(/"/g, '&quot;')}"`)
      .join('');
    out += `<${element}${attributes}>`;
    for (const [key, child] of Object.entries(node)) {
      if (key === '#text') out += escape(String(child));
      else if (!key.startsWith('@')) write(key, child);
    }
    out += `</${element}>`;
  };
  write(name, value);
  return out.length > REJECTED_XML_MAX_CHARS ? out.slice(0, REJECTED_XML_MAX_CHARS) : out;
}

/**
 * The `malformed-response` for a document that does not fit its schema, naming where and what. Not
 * retryable: the same document comes back on every retry (this is Qualys' output, not a connection
 * cut short).
 */
function shapeError(
  issues: readonly z.core.$ZodIssue[],
  at: { value: unknown; path: ReadonlyArray<PropertyKey>; record: boolean },
  context: XmlContext,
): QualysError {
  // The element `at.value` is: the last name on its path (a record's path ends with its index).
  const element = [...at.path].reverse().find((segment): segment is string => typeof segment === 'string') ?? '';
  const shown = issues
    .slice(0, 3)
    .map((issue) => {
      const record = recordsOnPath(at.value, at.record ? element : undefined, issue.path);
      return `${formatPath([...at.path, ...issue.path])}${record ? ` (${record})` : ''}: ${issue.message}`;
    })
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  const error = malformed(
    context,
    `${endpointInfo[context.endpoint].title} returned a document that does not have the expected shape: ${shown}${more}.`,
    'Qualys may have changed its output format, or this record is one the connector does not understand; retrying will not help. Report this message (it names the element and the record).',
  );
  return new QualysError({ ...error.details(), message: error.message, fix: error.fix, retryable: false });
}

/**
 * The records a failing path runs through, named by their IDs: "HOST ID 12345 › DETECTION QID 38170".
 * `start` is named too when it is a record (`recordName` is its element's name).
 */
function recordsOnPath(start: unknown, recordName: string | undefined, path: ReadonlyArray<PropertyKey>): string | undefined {
  const names: string[] = [];
  const name = (node: unknown, of: string): void => {
    if (!isRecord(node)) return;
    const idKey = RECORD_ID_KEYS.find((key) => isIdValue(node[key]));
    if (idKey) names.push(`${of} ${idKey} ${String(node[idKey])}`);
  };
  let node: unknown = start;
  let current = recordName ?? '';
  if (recordName !== undefined) name(start, recordName);
  for (const segment of path) {
    if (isRecord(node)) node = node[String(segment)];
    else if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else break;
    if (typeof segment === 'string') current = segment;
    name(node, current);
  }
  return names.length > 0 ? names.join(' › ') : undefined;
}

/** How Qualys names a record's identity: detections and VULNs by QID, hosts by ID, host assets by qwebHostId. */
const RECORD_ID_KEYS = ['QID', 'ID', 'qwebHostId', 'id'] as const;

function isIdValue(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `${out === '' ? '' : '.'}${String(segment)}`;
  }
  return out;
}

/** How one kind of record is found in its document, validated and turned into a typed record. */
export interface RecordReader<T> {
  /** Element names from the root to the record element (the last step may name several). */
  path: readonly RouteStep[];
  /** The typed record; undefined when it was rejected (handed to `outcomes.reject`). */
  read(value: unknown, at: RecordAt, context: XmlContext, outcomes?: RecordOutcomes): T | undefined;
}

/** Which record of its document a value is: its place among the records and its element's name. */
export interface RecordAt {
  index: number;
  name: string;
}

export function recordReader<Schema extends z.ZodType, T>(
  path: readonly string[],
  schema: Schema,
  toRecord: (element: z.output<Schema>) => T,
  /** The element holding the host ID the record is about, named in its rejection when it can be read. */
  hostIdKey?: string,
): RecordReader<T> {
  return {
    path,
    read: (value, { index }, context, outcomes) => {
      const element = parseRecord(schema, value, { path, index, hostIdKey }, context, outcomes);
      return element === undefined ? undefined : toRecord(element);
    },
  };
}
