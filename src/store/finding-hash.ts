import { hash } from 'node:crypto';
import type { EveryField } from '../contracts/records';
import type { Finding, FindingEvidence } from '../model/exposure';

/**
 * What of a finding is stored as its record and hashed as its `record_hash`: the commit compares hashes
 * to skip findings that did not change (not a security hash). Status and lastSeenAt are the store's
 * lifecycle columns, not part of it.
 *
 * The hashed form is this projection, field by field in a fixed order, so it does not move when the
 * mapping is refactored (fields built in another order give the same text, the same hash). What moves
 * it is a change of what a finding holds — a field added to the model, a value mapped differently —
 * and then, on the first commit after deploying it, every finding whose text changed gets a new hash:
 * the commit rewrites it and the change feed reports it as `updated` (once, with the record as it is
 * now). That is correct (the record did change) but can be the whole estate: say so in the release
 * notes (see README, "Upgrading"). `test/unit/finding-hash.test.ts` pins the hash of a fixed finding,
 * so such a change is never made by accident.
 */
export function hashedFinding(finding: Finding): { record: string; recordHash: string } {
  const record = JSON.stringify(reportedFinding(finding));
  return { record, recordHash: hash('md5', record) };
}

/** The finding as hashed (form 1: the order the mapping has always written, so stored hashes stay valid). */
type Reported = Omit<Finding, 'status' | 'lastSeenAt'>;

function reportedFinding(f: Finding): EveryField<Reported> {
  return {
    modelVersion: f.modelVersion,
    key: f.key,
    assetKey: f.assetKey,
    connection: f.connection,
    qualysHostId: f.qualysHostId,
    cve: f.cve,
    closedReason: f.closedReason,
    closedAt: f.closedAt,
    reopenedAt: f.reopenedAt,
    firstFound: f.firstFound,
    lastFound: f.lastFound,
    severity: f.severity,
    qds: f.qds,
    evidence: f.evidence.map(reportedEvidence),
    lastReportedEvidence: f.lastReportedEvidence?.map(reportedEvidence),
    firstSeenAt: f.firstSeenAt,
  };
}

function reportedEvidence(e: FindingEvidence): EveryField<FindingEvidence> {
  return {
    qid: e.qid,
    uniqueVulnId: e.uniqueVulnId,
    type: e.type,
    status: e.status,
    severity: e.severity,
    qds: e.qds,
    port: e.port,
    protocol: e.protocol,
    ssl: e.ssl,
    firstFound: e.firstFound,
    lastFound: e.lastFound,
    lastFixed: e.lastFixed,
  };
}
