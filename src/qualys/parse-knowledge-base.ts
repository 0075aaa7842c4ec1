import { z } from 'zod';
import { compact } from './compact';
import { parseDocument, recordReader } from './parse-document';
import type { KnowledgeBaseVuln } from './schemas';
import { listOutputSchema, type ResponseWarning } from './truncation';
import type { XmlContext, XmlDocument } from './xml';
import { flag, integer, lenientDecimal, list, node, requiredId, text } from './xml-values';

export const KNOWLEDGE_BASE_ROOT = 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT';

/**
 * VULN as the KnowledgeBase DTD (`/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd`)
 * declares it: `(QID, VULN_TYPE, SEVERITY_LEVEL, TITLE, CATEGORY?, …, PUBLISHED_DATETIME, …, PATCHABLE,
 * …, CVE_LIST?, …, CVSS?, CVSS_V3?, …)`. Only QID is required here: the rest is what the connector rates
 * a QID with, and a record without it is still the QID → CVE map's. A value of unexpected form is dropped
 * and counted; elements not listed (DIAGNOSIS, SOLUTION, CORRELATION, …) are ignored.
 */
const vulnElementSchema = z.object({
  QID: requiredId, // DTD: required
  VULN_TYPE: text, // DTD: required; read as optional
  SEVERITY_LEVEL: integer({ min: 1, max: 5 }), // DTD: required; read as optional
  TITLE: text, // DTD: required; read as optional
  CATEGORY: text, // DTD: optional
  LAST_SERVICE_MODIFICATION_DATETIME: text, // DTD: optional
  PUBLISHED_DATETIME: text, // DTD: required; read as optional
  PATCHABLE: flag, // DTD: required; read as optional
  // DTD: `CVE_LIST? (CVE+)`, `CVE (ID, URL)`. No CVE_LIST means the QID has no CVE: e.g. QID 6 "DNS Host Name".
  CVE_LIST: node({ CVE: list(z.object({ ID: text, URL: text })) }),
  CVSS: node({ BASE: lenientDecimal }), // DTD: optional (CVSS scoring enabled), BASE with attribute source
  CVSS_V3: node({ BASE: lenientDecimal }), // DTD: optional
});
type VulnElement = z.output<typeof vulnElementSchema>;

// `RESPONSE (DATETIME, (VULN_LIST | ID_SET)?, WARNING?)`: details=Basic gives VULN_LIST (ID_SET is details=None's).
const knowledgeBaseDocumentSchema = listOutputSchema({ VULN_LIST: node({ VULN: list(vulnElementSchema) }) });

/** One VULN, read as soon as its end tag arrives (the streaming path). */
export const knowledgeBaseRecords = recordReader(
  [KNOWLEDGE_BASE_ROOT, 'RESPONSE', 'VULN_LIST', 'VULN'],
  vulnElementSchema,
  toKnowledgeBaseVuln,
);

export interface KnowledgeBasePage {
  vulns: KnowledgeBaseVuln[];
  warning: ResponseWarning;
}

/** KnowledgeBase with details=Basic. A RESPONSE holding only DATETIME means none of the QIDs is known. */
export function parseKnowledgeBasePage(document: XmlDocument, context: XmlContext): KnowledgeBasePage {
  const { RESPONSE } = parseDocument(knowledgeBaseDocumentSchema, document, KNOWLEDGE_BASE_ROOT, context);
  return { vulns: (RESPONSE.VULN_LIST?.VULN ?? []).map(toKnowledgeBaseVuln), warning: RESPONSE.WARNING };
}

function toKnowledgeBaseVuln(vuln: VulnElement): KnowledgeBaseVuln {
  const cves = new Set<string>();
  for (const cve of vuln.CVE_LIST?.CVE ?? []) {
    if (cve.ID !== undefined) cves.add(cve.ID);
  }
  return compact<KnowledgeBaseVuln>({
    qid: vuln.QID,
    title: vuln.TITLE,
    severity: vuln.SEVERITY_LEVEL,
    vulnType: vuln.VULN_TYPE,
    category: vuln.CATEGORY,
    patchable: vuln.PATCHABLE,
    cves: [...cves],
    cvssBase: vuln.CVSS?.BASE,
    cvss3Base: vuln.CVSS_V3?.BASE,
    lastServiceModified: vuln.LAST_SERVICE_MODIFICATION_DATETIME,
    published: vuln.PUBLISHED_DATETIME,
  });
}
