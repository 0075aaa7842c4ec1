import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError } from './errors';

/** A parsed Qualys XML document: leaves are trimmed strings, lists are arrays (see xml-tree-builder.ts). */
export interface XmlDocument {
  rootName: string;
  /** The root element's content (children by name; leaf values are strings). */
  root: unknown;
}

export interface XmlContext {
  endpoint: QualysEndpoint;
  httpStatus: number;
  contentType?: string;
}

/** The error for a well-formed document whose root is not one we know for this endpoint. */
export function unexpectedRoot(document: XmlDocument, expected: readonly string[], context: XmlContext): QualysError {
  const title = endpointInfo[context.endpoint].title;
  return malformed(
    context,
    `${title} returned a <${document.rootName}> document (HTTP ${context.httpStatus}); expected <${expected.join('> or <')}>.`,
  );
}

/** A `malformed-response`; retryable unless told otherwise (a body cut short usually heals, a body past a limit never). */
export function malformed(context: XmlContext, message: string, fix?: string, retryable?: boolean): QualysError {
  return new QualysError({
    kind: 'malformed-response',
    message,
    fix: fix ?? 'Usually transient; the call can be retried. If it persists, report it with the endpoint and time.',
    endpoint: context.endpoint,
    httpStatus: context.httpStatus,
    retryable,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
