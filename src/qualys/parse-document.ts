import type { z } from 'zod';
import { endpointInfo } from './endpoints';
import { QualysError } from './errors';
import { isRecord, malformed, unexpectedRoot, type XmlContext, type XmlDocument } from './xml';

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

  const issues = result.error.issues;
  const shown = issues
    .slice(0, 3)
    .map((issue) => {
      const record = recordsOnPath(document.root, issue.path);
      return `${formatPath(expectedRoot, issue.path)}${record ? ` (${record})` : ''}: ${issue.message}`;
    })
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  // The same document comes back on every retry: this is Qualys' output, not a connection cut short.
  const error = malformed(
    context,
    `${endpointInfo[context.endpoint].title} returned a document that does not have the expected shape: ${shown}${more}.`,
    'Qualys may have changed its output format, or this record is one the connector does not understand; retrying will not help. Report this message (it names the element and the record).',
  );
  throw new QualysError({ ...error.details(), message: error.message, fix: error.fix, retryable: false });
}

/** The records a failing path runs through, named by their IDs: "HOST ID 12345 › DETECTION QID 38170". */
function recordsOnPath(root: unknown, path: ReadonlyArray<PropertyKey>): string | undefined {
  const names: string[] = [];
  let node: unknown = root;
  let element = '';
  for (const segment of path) {
    if (isRecord(node)) node = node[String(segment)];
    else if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else break;
    if (typeof segment === 'string') element = segment;
    if (!isRecord(node)) continue;
    const fields = node;
    const idKey = RECORD_ID_KEYS.find((key) => isIdValue(fields[key]));
    if (idKey) names.push(`${element} ${idKey} ${String(fields[idKey])}`);
  }
  return names.length > 0 ? names.join(' › ') : undefined;
}

/** How Qualys names a record's identity: detections and VULNs by QID, hosts by ID, host assets by qwebHostId. */
const RECORD_ID_KEYS = ['QID', 'ID', 'qwebHostId', 'id'] as const;

function isIdValue(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

function formatPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  let out = root;
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`;
  }
  return out;
}
