import { hash } from 'node:crypto';
import { fieldOrder } from '../contracts/records';
import type { Finding, FindingEvidence } from '../model/exposure';

/**
 * What of a finding is stored as its record and hashed as its `record_hash`: the commit compares hashes
 * to skip findings that did not change (not a security hash). Status and lastSeenAt are the store's
 * lifecycle columns, not part of it.
 *
 * The hashed form is the finding's fields in the fixed orders below (form 1: the order the mapping has
 * always written, so the hashes stores hold stay valid), so it does not move when the mapping is
 * refactored: fields built in another order give the same text, the same hash. What moves it is a change
 * of what a finding holds — a field added to the model (it must be placed below, or nothing compiles), a
 * value mapped differently — and then, on the first commit after deploying it, every finding whose text
 * changed gets a new hash: the commit rewrites it and the change feed reports it as `updated` (once, with
 * the record as it is now). That is correct (the record did change) but can be the whole estate: say so
 * in the release notes (README, "Upgrading"). `test/unit/finding-hash.test.ts` pins the hash of a fixed
 * finding, so such a change is never made by accident.
 */
export function hashedFinding(finding: Finding): { record: string; recordHash: string } {
  const reported = {
    ...inOrder(finding, FINDING_FIELDS),
    evidence: finding.evidence.map((e) => inOrder(e, EVIDENCE_FIELDS)),
    lastReportedEvidence: finding.lastReportedEvidence?.map((e) => inOrder(e, EVIDENCE_FIELDS)),
  };
  const record = JSON.stringify(reported);
  return { record, recordHash: hash('md5', record) };
}

const FINDING_FIELDS = fieldOrder<Omit<Finding, 'status' | 'lastSeenAt'>>()([
  'modelVersion', 'key', 'assetKey', 'connection', 'qualysHostId', 'cve', 'closedReason', 'closedAt', 'reopenedAt',
  'firstFound', 'lastFound', 'severity', 'qds', 'evidence', 'lastReportedEvidence', 'firstSeenAt',
]);

const EVIDENCE_FIELDS = fieldOrder<FindingEvidence>()([
  'qid', 'uniqueVulnId', 'type', 'status', 'severity', 'qds', 'port', 'protocol', 'ssl', 'firstFound', 'lastFound', 'lastFixed',
]);

/** The record's fields in this order (JSON.stringify then drops the undefined ones). */
function inOrder<T extends object>(record: T, fields: ReadonlyArray<keyof T>): Partial<T> {
  const out: Partial<T> = {};
  for (const field of fields) out[field] = record[field];
  return out;
}
