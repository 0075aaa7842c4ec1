import { z } from 'zod';
import { endpointInfo } from './endpoints';
import { parseDocument, recordReader, type RecordReader } from './parse-document';
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
const MAX_HOST_IDS = 20_000_000;

/** One entry of an ID_SET: an ID is a run of one, an ID_RANGE "a-b" the IDs a to b. */
export interface HostIdRun {
  first: number;
  last: number;
}

/**
 * Reads ID_SET entries into runs, counting the IDs they stand for across every page it reads: one
 * reader per host ID set, so an answer that claims more IDs than any subscription holds fails.
 */
function hostIdRunReader(): (name: string, value: unknown, context: XmlContext) => HostIdRun {
  let held = 0;
  return (name, value, context) => {
    const title = (): string => endpointInfo[context.endpoint].title;
    if (typeof value !== 'string') {
      throw malformed(context, `${title()} returned a document that does not have the expected shape: ID_SET.${name}: expected a text value, found an element.`);
    }
    let run: HostIdRun;
    if (name === 'ID') {
      const id = parseHostId(value, context);
      run = { first: id, last: id };
    } else {
      const match = /^(\d+)\s*-\s*(\d+)$/.exec(value);
      run = {
        first: match?.[1] === undefined ? NaN : parseHostId(match[1], context),
        last: match?.[2] === undefined ? NaN : parseHostId(match[2], context),
      };
      if (Number.isNaN(run.first) || Number.isNaN(run.last) || run.last < run.first) {
        throw malformed(context, `${title()} returned an invalid ID_RANGE "${value.slice(0, 40)}".`);
      }
    }
    held += run.last - run.first + 1;
    if (held > MAX_HOST_IDS) {
      throw malformed(
        context,
        `${title()} returned an implausibly large host ID set (over ${MAX_HOST_IDS.toLocaleString('en-US')} IDs at "${value.slice(0, 40)}").`,
        'No Qualys subscription comes near this: check the API URL and any proxy between the connector and Qualys. Retrying will not help.',
        false,
      );
    }
    return run;
  };
}

/**
 * Host List details=None read as it arrives: each ID and ID_RANGE of the ID_SET handed over as its
 * run of IDs, so a million-host ID set is never held as a document. One reader per host ID set.
 */
export function hostIdRecords(): RecordReader<HostIdRun> {
  const runOf = hostIdRunReader();
  return {
    path: [HOST_LIST_ROOT, 'RESPONSE', 'ID_SET', ['ID', 'ID_RANGE']],
    read: (value, { name }, context) => runOf(name, value, context),
  };
}

/** Pushes the IDs of a run onto `ids`. */
export function pushHostIds(ids: number[], run: HostIdRun): void {
  for (let id = run.first; id <= run.last; id++) ids.push(id);
}

/**
 * Host List with details=None, from a whole document (or, read through `hostIdRecords`, its
 * envelope alone). A RESPONSE holding only DATETIME means no hosts.
 */
export function parseHostIdPage(document: XmlDocument, context: XmlContext): HostIdPage {
  const { RESPONSE } = parseDocument(hostListDocumentSchema, document, HOST_LIST_ROOT, context);
  const runOf = hostIdRunReader();
  const ids: number[] = [];
  for (const id of RESPONSE.ID_SET?.ID ?? []) pushHostIds(ids, runOf('ID', id, context));
  for (const range of RESPONSE.ID_SET?.ID_RANGE ?? []) pushHostIds(ids, runOf('ID_RANGE', range, context));
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
