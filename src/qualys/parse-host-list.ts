import { z } from 'zod';
import { endpointInfo } from './endpoints';
import { parseDocument, recordReader } from './parse-document';
import { hostElementShape, toQualysHost } from './parse-host-fields';
import type { QualysHost } from './schemas';
import { listOutputSchema, type ResponseWarning } from './truncation';
import { malformed, type XmlContext, type XmlDocument } from './xml';
import { list, node, requiredText } from './xml-values';

export const HOST_LIST_ROOT = 'HOST_LIST_OUTPUT';

const hostElementSchema = z.object(hostElementShape);

// Host List's RESPONSE: HOST_LIST (details=All) or ID_SET (details=None), either absent when no host matched.
const hostListDocumentSchema = listOutputSchema({
  // details=None: the IDs only, consecutive runs compressed to ID_RANGE "a-b".
  ID_SET: node({ ID: list(requiredText), ID_RANGE: list(requiredText) }),
  HOST_LIST: node({ HOST: list(hostElementSchema) }),
});

export interface HostIdPage {
  ids: number[];
  warning: ResponseWarning;
  /** RESPONSE/DATETIME: when Qualys answered, by its own clock. */
  responseTime?: string;
}

export interface HostListPage {
  hosts: QualysHost[];
  warning: ResponseWarning;
}

/** One HOST of Host List details=All, read as soon as its end tag arrives (the streaming path). */
export const hostListRecords = recordReader([HOST_LIST_ROOT, 'RESPONSE', 'HOST_LIST', 'HOST'], hostElementSchema, toQualysHost, 'ID');

/** Guards memory: a subscription's whole ID set is far below this. */
const MAX_IDS_PER_RESPONSE = 20_000_000;

/** Host List with details=None. A RESPONSE holding only DATETIME means no hosts. */
export function parseHostIdPage(document: XmlDocument, context: XmlContext): HostIdPage {
  const { RESPONSE } = parseDocument(hostListDocumentSchema, document, HOST_LIST_ROOT, context);
  const ids: number[] = [];
  for (const id of RESPONSE.ID_SET?.ID ?? []) ids.push(parseHostId(id, context));
  for (const range of RESPONSE.ID_SET?.ID_RANGE ?? []) {
    const match = /^(\d+)\s*-\s*(\d+)$/.exec(range);
    const first = match?.[1] === undefined ? NaN : parseHostId(match[1], context);
    const last = match?.[2] === undefined ? NaN : parseHostId(match[2], context);
    if (Number.isNaN(first) || Number.isNaN(last) || last < first) {
      throw malformed(context, `${endpointInfo[context.endpoint].title} returned an invalid ID_RANGE "${range}".`);
    }
    if (ids.length + (last - first + 1) > MAX_IDS_PER_RESPONSE) {
      throw malformed(context, `${endpointInfo[context.endpoint].title} returned an implausibly large ID_RANGE "${range}".`);
    }
    for (let id = first; id <= last; id++) ids.push(id);
  }
  return { ids, warning: RESPONSE.WARNING, responseTime: RESPONSE.DATETIME };
}

/** Host List with details=All. */
export function parseHostListPage(document: XmlDocument, context: XmlContext): HostListPage {
  const { RESPONSE } = parseDocument(hostListDocumentSchema, document, HOST_LIST_ROOT, context);
  return { hosts: (RESPONSE.HOST_LIST?.HOST ?? []).map(toQualysHost), warning: RESPONSE.WARNING };
}

function parseHostId(value: string, context: XmlContext): number {
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(id)) {
    throw malformed(context, `${endpointInfo[context.endpoint].title} returned an invalid host ID "${value.slice(0, 40)}".`);
  }
  return id;
}
