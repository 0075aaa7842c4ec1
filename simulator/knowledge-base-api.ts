/**
 * KnowledgeBase API: `/api/2.0/fo/knowledge_base/vuln/?action=list`.
 * `VULN_LIST/VULN` with CVE_LIST only when the QID has CVEs; keep-alive comments mid-document, as the
 * real endpoint streams them (reference §3.4). No truncation (the KB normally does not paginate).
 */
import { CONFIDENTIALITY_BANNER, type ApiV2Context, writeTrailingComments } from './context';
import { KNOWLEDGE_BASE_PARAMS } from './endpoint-params';
import { formatQualysDateTime } from './dates';
import { writeIdSet } from './host-list';
import { writeVuln } from './knowledge-base-xml';
import { checkParams } from './param-rules';
import { booleanFlag, intervalsContain, oneOf, optionalDate, optionalIdList, optionalNonNegativeInt, requireListAction } from './params';
import { type ApiReply, XML_CONTENT_TYPE } from './responses';
import { XmlWriter } from './xml';

export const KNOWLEDGE_BASE_PATH = '/api/2.0/fo/knowledge_base/vuln/';

/** One keep-alive comment after this many VULN elements (assumption: frequency not documented). */
const KEEP_ALIVE_EVERY = 50;
const KEEP_ALIVE_COMMENT = 'keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT';

export function handleKnowledgeBase(ctx: ApiV2Context): ApiReply {
  const { params } = ctx;
  checkParams(params, KNOWLEDGE_BASE_PARAMS);
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
  xml.text('DATETIME', formatQualysDateTime(ctx.estate.now()));
  if (selected.length > 0 && details === 'None') {
    writeIdSet(xml, selected.map((entry) => entry.qid));
  } else if (selected.length > 0) {
    xml.start('VULN_LIST');
    selected.forEach((entry, n) => {
      if (n % KEEP_ALIVE_EVERY === 0) xml.comment(KEEP_ALIVE_COMMENT);
      writeVuln(xml, entry, ctx.estate.knowledgeBase.extras(entry.qid), details === 'All');
    });
    xml.end();
  }
  xml.end().end();
  writeTrailingComments(xml, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT');
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
