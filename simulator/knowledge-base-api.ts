/**
 * KnowledgeBase API: `/api/2.0/fo/knowledge_base/vuln/?action=list`.
 * `VULN_LIST/VULN` with CVE_LIST only when the QID has CVEs; keep-alive comments mid-document, as the
 * real endpoint streams them (reference §3.4). No truncation (the KB normally does not paginate).
 */
import { CONFIDENTIALITY_BANNER, type ApiV2Context } from './context';
import { formatQualysDateTime } from './dates';
import { writeIdSet } from './host-list';
import type { KnowledgeBaseEntry } from './knowledge-base';
import {
  booleanFlag,
  intervalsContain,
  oneOf,
  optionalDate,
  optionalIdList,
  optionalNonNegativeInt,
  rejectUnknownParams,
  requireListAction,
} from './params';
import { type ApiReply, XML_CONTENT_TYPE } from './responses';
import { flag, XmlWriter } from './xml';

export const KNOWLEDGE_BASE_PATH = '/api/2.0/fo/knowledge_base/vuln/';

/** Parameter names the KB accepts (reference §5.1); filters below are implemented, the rest ignored. */
const KNOWN_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'details', 'ids', 'id_min', 'id_max', 'is_patchable', 'last_modified_after',
  'last_modified_before', 'last_modified_by_user_after', 'last_modified_by_user_before',
  'last_modified_by_service_after', 'last_modified_by_service_before', 'published_after', 'published_before',
  'code_modified_after', 'code_modified_before', 'discovery_method', 'discovery_auth_types',
  'show_supported_modules_info', 'show_disabled_flag', 'show_pci_reasons', 'show_qid_change_log',
]);

/** One keep-alive comment after this many VULN elements (assumption: frequency not documented). */
const KEEP_ALIVE_EVERY = 50;
const KEEP_ALIVE_COMMENT = 'keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT';

function writeVuln(xml: XmlWriter, entry: KnowledgeBaseEntry, all: boolean): void {
  xml.start('VULN');
  xml.text('QID', entry.qid);
  xml.text('VULN_TYPE', entry.vulnType);
  xml.text('SEVERITY_LEVEL', entry.severity);
  xml.cdata('TITLE', entry.title);
  xml.text('CATEGORY', entry.category);
  xml.text('LAST_SERVICE_MODIFICATION_DATETIME', entry.lastServiceModification);
  xml.text('PUBLISHED_DATETIME', entry.published);
  xml.text('PATCHABLE', flag(entry.patchable));
  if (entry.cves.length > 0) {
    xml.start('CVE_LIST');
    for (const cve of entry.cves) {
      xml.start('CVE');
      xml.cdata('ID', cve);
      xml.cdata('URL', `http://cve.mitre.org/cgi-bin/cvename.cgi?name=${cve}`);
      xml.end();
    }
    xml.end();
  }
  if (all) {
    xml.cdata('DIAGNOSIS', entry.diagnosis);
    xml.cdata('CONSEQUENCE', entry.consequence);
    xml.cdata('SOLUTION', entry.solution);
  }
  if (entry.cvssBase !== undefined) {
    xml.start('CVSS');
    xml.text('BASE', entry.cvssBase.toFixed(1), { source: 'service' });
    xml.text('TEMPORAL', entry.cvssTemporal?.toFixed(1));
    xml.end();
  }
  if (entry.cvss3Base !== undefined) {
    xml.start('CVSS_V3');
    xml.text('BASE', entry.cvss3Base.toFixed(1));
    xml.text('TEMPORAL', entry.cvss3Temporal?.toFixed(1));
    xml.text('CVSS3_VERSION', '3.1');
    xml.end();
  }
  xml.text('PCI_FLAG', flag(entry.severity >= 4));
  xml.start('DISCOVERY');
  xml.text('REMOTE', flag(entry.remoteDiscovery));
  xml.end();
  xml.end();
}

export function handleKnowledgeBase(ctx: ApiV2Context): ApiReply {
  const { params } = ctx;
  rejectUnknownParams(params, KNOWN_PARAMS);
  requireListAction(params);
  const details = oneOf(params, 'details', ['Basic', 'All', 'None'] as const, 'Basic');
  const ids = optionalIdList(params, 'ids');
  const idMin = optionalNonNegativeInt(params, 'id_min');
  const idMax = optionalNonNegativeInt(params, 'id_max');
  const modifiedAfter = optionalDate(params, 'last_modified_after') ?? optionalDate(params, 'last_modified_by_service_after');
  const modifiedBefore = optionalDate(params, 'last_modified_before') ?? optionalDate(params, 'last_modified_by_service_before');
  const publishedAfter = optionalDate(params, 'published_after');
  const publishedBefore = optionalDate(params, 'published_before');
  const patchable = params.has('is_patchable') ? booleanFlag(params, 'is_patchable') : undefined;
  booleanFlag(params, 'echo_request');

  const selected = ctx.estate.knowledgeBase.entries.filter((entry) => {
    const modified = Date.parse(entry.lastServiceModification);
    const published = Date.parse(entry.published);
    return (ids === undefined || intervalsContain(ids, entry.qid))
      && (idMin === undefined || entry.qid >= idMin)
      && (idMax === undefined || entry.qid <= idMax)
      && (modifiedAfter === undefined || modified >= modifiedAfter)
      && (modifiedBefore === undefined || modified <= modifiedBefore)
      && (publishedAfter === undefined || published >= publishedAfter)
      && (publishedBefore === undefined || published <= publishedBefore)
      && (patchable === undefined || entry.patchable === patchable);
  });

  const xml = new XmlWriter({
    doctype: {
      root: 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT',
      systemUrl: `${ctx.baseUrl}/api/2.0/fo/knowledge_base/vuln/knowledge_base_vuln_list_output.dtd`,
    },
  });
  xml.comment(CONFIDENTIALITY_BANNER);
  xml.start('KNOWLEDGE_BASE_VULN_LIST_OUTPUT').start('RESPONSE');
  xml.text('DATETIME', formatQualysDateTime(Date.now()));
  if (selected.length > 0 && details === 'None') {
    writeIdSet(xml, selected.map((entry) => entry.qid));
  } else if (selected.length > 0) {
    xml.start('VULN_LIST');
    selected.forEach((entry, n) => {
      if (n % KEEP_ALIVE_EVERY === 0) xml.comment(KEEP_ALIVE_COMMENT);
      writeVuln(xml, entry, details === 'All');
    });
    xml.end();
  }
  xml.end().end();
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
