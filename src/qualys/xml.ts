import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysError } from './errors';

/**
 * Elements that are list items, keyed by their parent. They always parse as arrays, so a response
 * with one HOST looks like one with many. Keyed by parent because some names are lists in one
 * place and scalars in another (ID_SET/ID is a list; HOST/ID and CVE/ID are not).
 */
const listItems: ReadonlySet<string> = new Set([
  'ID_SET.ID',
  'ID_SET.ID_RANGE',
  'HOST_LIST.HOST',
  'DETECTION_LIST.DETECTION',
  'QDS_FACTORS.QDS_FACTOR',
  'TAGS.TAG',
  'CLOUD_PROVIDER_TAGS.CLOUD_TAG',
  'VULN_LIST.VULN',
  'CVE_LIST.CVE',
  'ITEM_LIST.ITEM',
  'data.HostAsset',
]);

function isListItem(tagName: string, jPath: string): boolean {
  const parts = jPath.split('.');
  const parent = parts[parts.length - 2];
  // QPS wraps every collection as <x><list><Item/>…</list></x> (HostAssetInterface, TagSimple, …).
  return parent === 'list' || listItems.has(`${parent}.${tagName}`);
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Comments (banners before the root, keep-alives mid-document) are dropped: commentPropName is unset.
  // Keep every value a string: IDs, QIDs and IPs must not become numbers (leading zeros, 1e5, precision).
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // trimValues does not reach inside CDATA, and Qualys pads CDATA with newlines and spaces.
  tagValueProcessor: (_tagName, value) => value.trim(),
  // Qualys titles and results use numeric character references (&#039;); decode them.
  htmlEntities: true,
  isArray: (tagName, jPath) => typeof jPath === 'string' && isListItem(tagName, jPath),
});

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

/**
 * Parses a Qualys XML body, or throws a `malformed-response` QualysError saying what came back instead:
 * nothing, an HTML page (a proxy or load balancer answered), or XML that is not well-formed (usually a
 * body cut off mid-transfer, which we must detect rather than half-parse).
 */
export function parseQualysXml(body: string, context: XmlContext): XmlDocument {
  const text = body.replace(/^\uFEFF/, '');
  const title = endpointInfo[context.endpoint].title;
  const status = context.httpStatus;

  if (text.trim() === '') {
    throw malformed(context, `${title} returned an empty body (HTTP ${status}) instead of XML.`);
  }
  const pageTitle = htmlPageTitle(text, context.contentType);
  if (pageTitle !== undefined) {
    throw malformed(
      context,
      `${title} returned an HTML page (status ${status}) instead of XML — a proxy or load balancer answered` +
        (pageTitle ? ` ("${pageTitle}").` : '.'),
      'Usually transient. If it persists, check the API URL and any proxy between the connector and Qualys.',
    );
  }

  const notWellFormed = (detail: string): QualysError =>
    malformed(
      context,
      `${title} returned XML that is not well-formed (${detail}; ${Buffer.byteLength(text)} bytes received, HTTP ${status}) — ` +
        'the body was probably cut off in transit.',
      'Usually a dropped connection; the call can be retried. If it keeps happening, use smaller ID ranges.',
    );

  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw notWellFormed(`${msg.replace(/\.$/, '')} at line ${line}, column ${col}`);
  }

  let parsed: unknown;
  try {
    parsed = parser.parse(text);
  } catch (error) {
    // The validator lets a few defects through (e.g. an unterminated comment after the root).
    throw notWellFormed(error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
  }
  const rootNames = isRecord(parsed) ? Object.keys(parsed) : [];
  if (!isRecord(parsed) || rootNames.length !== 1) {
    throw malformed(context, `${title} returned XML without a single root element (HTTP ${status}).`);
  }
  const rootName = rootNames[0] as string;
  return { rootName, root: parsed[rootName] };
}

/** The error for a well-formed document whose root is not one we know for this endpoint. */
export function unexpectedRoot(document: XmlDocument, expected: readonly string[], context: XmlContext): QualysError {
  const title = endpointInfo[context.endpoint].title;
  return malformed(
    context,
    `${title} returned a <${document.rootName}> document (HTTP ${context.httpStatus}); expected <${expected.join('> or <')}>.`,
  );
}

export function malformed(context: XmlContext, message: string, fix?: string): QualysError {
  return new QualysError({
    kind: 'malformed-response',
    message,
    fix: fix ?? 'Usually transient; the call can be retried. If it persists, report it with the endpoint and time.',
    endpoint: context.endpoint,
    httpStatus: context.httpStatus,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * For an HTML page (what a proxy, load balancer, portal or maintenance window serves): its <title>,
 * or '' when it has none. Undefined when the body is not HTML.
 */
export function htmlPageTitle(body: string, contentType: string | undefined): string | undefined {
  if (!looksLikeHtml(body, contentType)) return undefined;
  const match = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(body);
  return match?.[1]?.trim() ?? '';
}

function looksLikeHtml(text: string, contentType: string | undefined): boolean {
  if (contentType !== undefined && /\btext\/html\b/i.test(contentType)) return true;
  const start = text.replace(/^\uFEFF/, '').trimStart().slice(0, 512).toLowerCase();
  return /^(<\?xml[^>]*>\s*)?<!doctype html/.test(start) || /^<(html|head|body)[\s>]/.test(start);
}
