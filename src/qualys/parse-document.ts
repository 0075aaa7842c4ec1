import type { z } from 'zod';
import { endpointInfo } from './endpoints';
import { malformed, unexpectedRoot, type XmlContext, type XmlDocument } from './xml';

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
    .map((issue) => `${formatPath(expectedRoot, issue.path)}: ${issue.message}`)
    .join('; ');
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  throw malformed(
    context,
    `${endpointInfo[context.endpoint].title} returned a document that does not have the expected shape: ${shown}${more}.`,
    'Qualys may have changed its output format. Report this message; retrying will not help if it persists.',
  );
}

function formatPath(root: string, path: ReadonlyArray<PropertyKey>): string {
  let out = root;
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`;
  }
  return out;
}
