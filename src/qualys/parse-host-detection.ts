import { z } from 'zod';
import { compact } from './compact';
import { parseDocument, recordReader } from './parse-document';
import { fieldsOf } from './fields';
import { hostElementShape, toQualysHost } from './parse-host-fields';
import type { Detection, HostDetections } from './schemas';
import { listOutputSchema, type ResponseWarning } from './truncation';
import type { XmlContext, XmlDocument } from './xml';
import {
  flag,
  integer,
  list,
  node,
  optionalId,
  readAttribute,
  readInteger,
  requiredId,
  requiredText,
  text,
} from './xml-values';

export const HOST_DETECTION_ROOT = 'HOST_LIST_VM_DETECTION_OUTPUT';

/** Validated as 0–65535, returned as text. */
const portText = integer({ min: 0, max: 65535 });

/** <QDS severity="HIGH">75</QDS>: the score and its band. */
const qdsSchema = z
  .unknown()
  .transform((value, ctx) => ({
    score: readInteger(value, ctx, { min: 0, max: 100 }),
    severity: readAttribute(value, 'severity'),
  }))
  .optional();

/**
 * DETECTION as Qualys' Host List Detection DTD (`/api/2.0/fo/asset/host/vm/detection/dtd/output.dtd`)
 * declares it: `(UNIQUE_VULN_ID?, QID, TYPE, SEVERITY?, PORT?, PROTOCOL?, FQDN?, SSL?, INSTANCE?,
 * RESULTS?, STATUS?, FIRST_FOUND_DATETIME?, …, LAST_PROCESSED_DATETIME?)`. QID and TYPE are required;
 * everything else may be absent, and a value of unexpected form in it is dropped and counted
 * (`parseRecord`). Elements not listed here (QDS_FACTORS, AFFECT_*, ASSET_CVE, …) are ignored.
 */
const detectionElementSchema = z.object({
  UNIQUE_VULN_ID: optionalId, // in real output, though the published XSD leaves it out
  QID: requiredId, // DTD: required
  TYPE: requiredText, // DTD: required (Confirmed | Potential | Info)
  SEVERITY: integer({ min: 1, max: 5 }), // DTD: optional
  PORT: portText, // DTD: optional
  PROTOCOL: text, // DTD: optional
  FQDN: text, // DTD: optional
  SSL: flag, // DTD: optional
  INSTANCE: text, // DTD: optional
  RESULTS: text, // DTD: optional (only with show_results=1)
  // DTD: optional. Without it the detection is listed because its last scan found it: an open finding
  // (only "Fixed" closes one; see README, "Records as the DTDs allow").
  STATUS: text,
  ...fieldsOf(text, 'FIRST_FOUND_DATETIME', 'LAST_FOUND_DATETIME'), // DTD: optional
  QDS: qdsSchema, // DTD: optional, attribute severity
  TIMES_FOUND: integer({ min: 0 }), // DTD: optional
  ...fieldsOf(text, 'LAST_TEST_DATETIME', 'LAST_UPDATE_DATETIME', 'LAST_FIXED_DATETIME', 'LAST_PROCESSED_DATETIME'), // DTD: optional
  ...fieldsOf(flag, 'IS_IGNORED', 'IS_DISABLED'), // DTD: optional
});
type DetectionElement = z.output<typeof detectionElementSchema>;

const hostElementSchema = z.object({
  ...hostElementShape,
  // DTD: `DETECTION_LIST (DETECTION+)`, required in HOST; read as optional (a host without one has no detections).
  DETECTION_LIST: node({ DETECTION: list(detectionElementSchema) }),
});

// DTD: `HOST_LIST_VM_DETECTION_OUTPUT (REQUEST?, RESPONSE)`, `RESPONSE (DATETIME, HOST_LIST?, WARNING?)`.
const detectionDocumentSchema = listOutputSchema({ HOST_LIST: node({ HOST: list(hostElementSchema) }) });

/** One HOST with its detections, read as soon as its end tag arrives (the streaming path). */
export const hostDetectionRecords = recordReader(
  [HOST_DETECTION_ROOT, 'RESPONSE', 'HOST_LIST', 'HOST'],
  hostElementSchema,
  toHostDetections,
  'ID',
);

export interface HostDetectionPage {
  hosts: HostDetections[];
  warning: ResponseWarning;
}

/** Host List Detection. A RESPONSE holding only DATETIME means no hosts matched. */
export function parseHostDetectionPage(document: XmlDocument, context: XmlContext): HostDetectionPage {
  const { RESPONSE } = parseDocument(detectionDocumentSchema, document, HOST_DETECTION_ROOT, context);
  return { hosts: (RESPONSE.HOST_LIST?.HOST ?? []).map(toHostDetections), warning: RESPONSE.WARNING };
}

function toHostDetections(host: z.output<typeof hostElementSchema>): HostDetections {
  return { ...toQualysHost(host), detections: (host.DETECTION_LIST?.DETECTION ?? []).map(toDetection) };
}

function toDetection(detection: DetectionElement): Detection {
  return compact<Detection>({
    uniqueVulnId: detection.UNIQUE_VULN_ID,
    qid: detection.QID,
    type: detection.TYPE,
    severity: detection.SEVERITY,
    port: detection.PORT === undefined ? undefined : String(detection.PORT),
    protocol: detection.PROTOCOL,
    fqdn: detection.FQDN,
    ssl: detection.SSL ?? false,
    instance: detection.INSTANCE,
    status: detection.STATUS,
    firstFound: detection.FIRST_FOUND_DATETIME,
    lastFound: detection.LAST_FOUND_DATETIME,
    lastFixed: detection.LAST_FIXED_DATETIME,
    lastTest: detection.LAST_TEST_DATETIME,
    lastUpdate: detection.LAST_UPDATE_DATETIME,
    lastProcessed: detection.LAST_PROCESSED_DATETIME,
    qds: detection.QDS?.score,
    qdsSeverity: detection.QDS?.severity,
    timesFound: detection.TIMES_FOUND,
    isIgnored: detection.IS_IGNORED,
    isDisabled: detection.IS_DISABLED,
    results: detection.RESULTS,
  });
}
