import { XmlBodyReader } from './xml-body-reader';

export { htmlPageTitle } from './html-page';
import type { XmlContext, XmlDocument } from './xml-document';

export { isRecord, malformed, unexpectedRoot, type XmlContext, type XmlDocument } from './xml-document';

/**
 * Parses a whole Qualys XML body, or throws a `malformed-response` QualysError saying what came back
 * instead: nothing, an HTML page (a proxy or load balancer answered), or XML that is not well-formed
 * (usually a body cut off mid-transfer, which we must detect rather than half-parse). The same reader
 * as the streaming path, fed the body at once.
 */
export function parseQualysXml(body: string, context: XmlContext): XmlDocument {
  const reader = new XmlBodyReader(context);
  reader.write(body);
  return reader.end();
}
