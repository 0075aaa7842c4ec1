import { z } from 'zod';
import { compact } from './compact';
import { parseDocument, recordReader } from './parse-document';
import { hostElementShape, toQualysHost } from './parse-host-fields';
import type { Detection, HostDetections } from './schemas';
import { warningSchema, type ResponseWarning } from './truncation';
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

const detectionElementSchema = z.object({
  UNIQUE_VULN_ID: optionalId,
  QID: requiredId,
  TYPE: requiredText,
  SEVERITY: integer({ min: 1, max: 5 }),
  PORT: portText,
  PROTOCOL: text,
  FQDN: text,
  SSL: flag,
  INSTANCE: text,
  RESULTS: text,
  // Required: we always ask for explicit statuses, and a detection without one cannot be classified.
  STATUS: requiredText,
  FIRST_FOUND_DATETIME: text,
  LAST_FOUND_DATETIME: text,
  QDS: qdsSchema,
  TIMES_FOUND: integer({ min: 0 }),
  LAST_TEST_DATETIME: text,
  LAST_UPDATE_DATETIME: text,
  LAST_FIXED_DATETIME: text,
  LAST_PROCESSED_DATETIME: text,
  IS_IGNORED: flag,
  IS_DISABLED: flag,
});
type DetectionElement = z.output<typeof detectionElementSchema>;

const hostElementSchema = z.object({
  ...hostElementShape,
  DETECTION_LIST: node({ DETECTION: list(detectionElementSchema) }),
});

const detectionDocumentSchema = z.object({
  RESPONSE: z.object({
    DATETIME: text,
    HOST_LIST: node({ HOST: list(hostElementSchema) }),
    WARNING: warningSchema,
  }),
});

/** One HOST with its detections, read as soon as its end tag arrives (the streaming path). */
export const hostDetectionRecords = recordReader(
  [HOST_DETECTION_ROOT, 'RESPONSE', 'HOST_LIST', 'HOST'],
  hostElementSchema,
  toHostDetections,
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
  return compact({
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
