/**
 * One KnowledgeBase `VULN`, children in the order of knowledge_base_vuln_list_output.dtd:
 *   QID, VULN_TYPE, SEVERITY_LEVEL, TITLE, CATEGORY?, …, LAST_SERVICE_MODIFICATION_DATETIME?,
 *   PUBLISHED_DATETIME, BUGTRAQ_LIST?, PATCHABLE, SOFTWARE_LIST?, VENDOR_REFERENCE_LIST?, CVE_LIST?,
 *   DIAGNOSIS?, CONSEQUENCE?, SOLUTION?, COMPLIANCE_LIST?, CORRELATION?, CVSS?, CVSS_V3?, PCI_FLAG?,
 *   AUTOMATIC_PCI_FAIL?, PCI_REASONS?, THREAT_INTELLIGENCE?, SUPPORTED_MODULES?, DISCOVERY, IS_DISABLED?
 * CDATA where real responses use it: TITLE, the ID/URL of CVE and VENDOR_REFERENCE (and BUGTRAQ, which
 * shares their children), SOFTWARE, DIAGNOSIS/CONSEQUENCE/SOLUTION (reference §5.2).
 *
 * Assumption (the documentation only says "Basic includes basic elements plus CVSS Base and Temporal
 * scores"): `details=Basic` carries the identifying lists (Bugtraq, software, vendor references, CVEs),
 * CVSS BASE/TEMPORAL with their `source` attribute, threat intelligence and discovery; `details=All`
 * adds the texts, the correlation and the CVSS vectors and components.
 */
import type { KbReference, KnowledgeBaseExtras } from './knowledge-base-extras';
import type { KnowledgeBaseEntry } from './knowledge-base';
import { flag, type XmlWriter } from './xml';

function writeReferences(xml: XmlWriter, list: string, item: string, references: readonly KbReference[]): void {
  if (references.length === 0) return;
  xml.start(list);
  for (const reference of references) {
    xml.start(item);
    xml.cdata('ID', reference.id);
    xml.cdata('URL', reference.url);
    xml.end();
  }
  xml.end();
}

function writeCorrelation(xml: XmlWriter, extras: KnowledgeBaseExtras): void {
  if (extras.exploits.length === 0 && extras.malware.length === 0) return;
  xml.start('CORRELATION');
  if (extras.exploits.length > 0) {
    xml.start('EXPLOITS');
    for (const source of extras.exploits) {
      xml.start('EXPLT_SRC').cdata('SRC_NAME', source.source).start('EXPLT_LIST');
      for (const exploit of source.exploits) {
        xml.start('EXPLT').cdata('REF', exploit.ref).cdata('DESC', exploit.description).cdata('LINK', exploit.link).end();
      }
      xml.end().end();
    }
    xml.end();
  }
  if (extras.malware.length > 0) {
    xml.start('MALWARE');
    for (const source of extras.malware) {
      xml.start('MW_SRC').cdata('SRC_NAME', source.source).start('MW_LIST');
      for (const item of source.malware) {
        xml.start('MW_INFO');
        xml.cdata('MW_ID', item.id).cdata('MW_TYPE', item.type).cdata('MW_PLATFORM', item.platform);
        xml.cdata('MW_ALIAS', item.alias).cdata('MW_RATING', item.rating).cdata('MW_LINK', item.link);
        xml.end();
      }
      xml.end().end();
    }
    xml.end();
  }
  xml.end();
}

function writeCvss(xml: XmlWriter, entry: KnowledgeBaseEntry, extras: KnowledgeBaseExtras | undefined, all: boolean): void {
  if (entry.cvssBase !== undefined) {
    xml.start('CVSS');
    xml.text('BASE', entry.cvssBase.toFixed(1), { source: 'service' });
    xml.text('TEMPORAL', entry.cvssTemporal?.toFixed(1));
    const v2 = all ? extras?.cvss : undefined;
    if (v2) {
      xml.text('VECTOR_STRING', v2.vector);
      xml.start('ACCESS').text('VECTOR', v2.accessVector).text('COMPLEXITY', v2.accessComplexity).end();
      xml.start('IMPACT').text('CONFIDENTIALITY', v2.impact[0]).text('INTEGRITY', v2.impact[1]).text('AVAILABILITY', v2.impact[2]).end();
      xml.text('AUTHENTICATION', v2.authentication);
      xml.text('EXPLOITABILITY', v2.exploitability);
      xml.text('REMEDIATION_LEVEL', v2.remediationLevel);
      xml.text('REPORT_CONFIDENCE', v2.reportConfidence);
    }
    xml.end();
  }
  if (entry.cvss3Base !== undefined) {
    xml.start('CVSS_V3');
    xml.text('BASE', entry.cvss3Base.toFixed(1), extras ? { source: 'service' } : undefined);
    xml.text('TEMPORAL', entry.cvss3Temporal?.toFixed(1));
    const v3 = all ? extras?.cvss3 : undefined;
    // CVSS3_VERSION after VECTOR_STRING, as in Elastic's XSD derived from the current DTD (reference §5.2).
    if (v3) xml.text('VECTOR_STRING', v3.vector);
    xml.text('CVSS3_VERSION', '3.1');
    if (v3) {
      xml.start('ATTACK').text('VECTOR', v3.attackVector).text('COMPLEXITY', v3.attackComplexity).end();
      xml.start('IMPACT').text('CONFIDENTIALITY', v3.impact[0]).text('INTEGRITY', v3.impact[1]).text('AVAILABILITY', v3.impact[2]).end();
      xml.text('PRIVILEGES_REQUIRED', v3.privilegesRequired);
      xml.text('USER_INTERACTION', v3.userInteraction);
      xml.text('SCOPE', v3.scope);
      xml.text('EXPLOIT_CODE_MATURITY', v3.exploitCodeMaturity);
      xml.text('REMEDIATION_LEVEL', v3.remediationLevel);
      xml.text('REPORT_CONFIDENCE', v3.reportConfidence);
    }
    xml.end();
  }
}

/** Writes `entry` as a VULN; `extras` present only in the realistic profile. */
export function writeVuln(xml: XmlWriter, entry: KnowledgeBaseEntry, extras: KnowledgeBaseExtras | undefined, all: boolean): void {
  xml.start('VULN');
  xml.text('QID', entry.qid);
  xml.text('VULN_TYPE', entry.vulnType);
  xml.text('SEVERITY_LEVEL', entry.severity);
  xml.cdata('TITLE', entry.title);
  xml.text('CATEGORY', entry.category);
  xml.text('LAST_SERVICE_MODIFICATION_DATETIME', entry.lastServiceModification);
  xml.text('PUBLISHED_DATETIME', entry.published);
  if (extras) writeReferences(xml, 'BUGTRAQ_LIST', 'BUGTRAQ', extras.bugtraq);
  xml.text('PATCHABLE', flag(entry.patchable));
  if (extras && extras.software.length > 0) {
    xml.start('SOFTWARE_LIST');
    for (const software of extras.software) xml.start('SOFTWARE').cdata('PRODUCT', software.product).cdata('VENDOR', software.vendor).end();
    xml.end();
  }
  if (extras) writeReferences(xml, 'VENDOR_REFERENCE_LIST', 'VENDOR_REFERENCE', extras.vendorReferences);
  writeReferences(
    xml,
    'CVE_LIST',
    'CVE',
    entry.cves.map((cve) => ({ id: cve, url: `http://cve.mitre.org/cgi-bin/cvename.cgi?name=${cve}` })),
  );
  if (all) {
    xml.cdata('DIAGNOSIS', entry.diagnosis);
    xml.cdata('CONSEQUENCE', entry.consequence);
    xml.cdata('SOLUTION', entry.solution);
    if (extras) writeCorrelation(xml, extras);
  }
  writeCvss(xml, entry, extras, all);
  xml.text('PCI_FLAG', flag(entry.severity >= 4));
  if (extras && extras.pciReasons.length > 0 && all) {
    xml.start('PCI_REASONS');
    for (const reason of extras.pciReasons) xml.cdata('PCI_REASON', reason);
    xml.end();
  }
  if (extras && extras.threatIntel.length > 0) {
    xml.start('THREAT_INTELLIGENCE');
    for (const intel of extras.threatIntel) xml.cdata('THREAT_INTEL', intel.name, { id: intel.id });
    xml.end();
  }
  xml.start('DISCOVERY');
  xml.text('REMOTE', flag(entry.remoteDiscovery));
  if (extras && extras.authTypes.length > 0) {
    xml.start('AUTH_TYPE_LIST');
    for (const type of extras.authTypes) xml.text('AUTH_TYPE', type);
    xml.end();
  }
  if (extras) xml.cdata('ADDITIONAL_INFO', extras.additionalInfo);
  xml.end();
  xml.end();
}
