import type { z } from 'zod';
import { endpointInfo } from './endpoints';
import { QualysError } from './errors';
import { isRecord, malformed, unexpectedRoot, type XmlContext, type XmlDocument } from './xml-document';

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
}

/**
 * Validates one record (a HOST, a VULN, a HostAsset) as soon as it has been read, with the same
 * guarantees and the same message as a whole document: the path from the root and the records on it.
 */
export function parseRecord<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  location: RecordLocation,
  context: XmlContext,
): z.output<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw shapeError(result.error.issues, { value, path: [...location.path, location.index], record: true }, context);
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
  /** Element names from the root to the record element. */
  path: readonly string[];
  read(value: unknown, index: number, context: XmlContext): T;
}

export function recordReader<Schema extends z.ZodType, T>(
  path: readonly string[],
  schema: Schema,
  toRecord: (element: z.output<Schema>) => T,
): RecordReader<T> {
  return {
    path,
    read: (value, index, context) => toRecord(parseRecord(schema, value, { path, index }, context)),
  };
}
