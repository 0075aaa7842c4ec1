/**
 * What one Qualys body may make a worker hold while it is read. Far above any real answer (a 1 000-host
 * detection page nests 7 deep; a host's record is a few thousand elements; the envelope a few dozen, a
 * host ID set's entries being records), and low enough that a hostile or broken answer — however well
 * it compresses — fails its page long before memory grows past a few tens of MB.
 */
export const XML_LIMITS = {
  /** Elements open at once. */
  depth: 64,
  /** Elements of one record (a HOST with its detections, a VULN, a HostAsset). */
  recordElements: 500_000,
  /** Characters of text and attribute values of one record. */
  recordCharacters: 32 * 1024 * 1024,
  /** Elements kept outside the records (the envelope: counts, WARNING, DATETIME). */
  envelopeElements: 100_000,
  /** Distinct element names outside the records (each is a key of the envelope's objects). */
  envelopeNames: 4_096,
  /** Attributes kept outside the records. */
  envelopeAttributes: 10_000,
  /** Characters of text and attribute values kept outside the records. */
  envelopeCharacters: 16 * 1024 * 1024,
  /** Attributes of one start tag. */
  tagAttributes: 10_000,
  /** Characters read since the parser last completed anything (one text node, attribute, comment or DOCTYPE being held). */
  pendingCharacters: 32 * 1024 * 1024,
} as const;

export type XmlLimitName = keyof typeof XML_LIMITS;

const LIMIT_DESCRIPTIONS: Readonly<Record<XmlLimitName, string>> = {
  depth: 'elements open at once',
  recordElements: 'elements in one record',
  recordCharacters: 'characters in one record',
  envelopeElements: 'elements outside the records',
  envelopeNames: 'distinct element names outside the records',
  envelopeAttributes: 'attributes outside the records',
  envelopeCharacters: 'characters outside the records',
  tagAttributes: 'attributes in one start tag',
  pendingCharacters: 'characters in one unfinished text, attribute, comment or DOCTYPE',
};

/** A body went past one of the limits: never retried (the same body comes back). */
export class XmlLimitExceeded extends Error {
  override readonly name = 'XmlLimitExceeded';

  constructor(readonly limit: XmlLimitName) {
    super(`more than ${XML_LIMITS[limit].toLocaleString('en-US')} ${LIMIT_DESCRIPTIONS[limit]} (limit ${limit})`);
  }
}
