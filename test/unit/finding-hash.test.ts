// Pins the finding record hash: the commit compares it with the stored one to decide whether a finding
// changed, so a change of what is hashed rewrites every finding on the first commit after deploying it.
import { createHash } from 'node:crypto';
import { mapFindings } from '../../src/model/map-qualys';
import type { Finding } from '../../src/model/exposure';
import type { Detection } from '../../src/qualys/schemas';
import { hashedFinding } from '../../src/store/finding-hash';

const SEEN_AT = '2026-01-01T00:00:00.000Z';

const detections: Detection[] = [
  {
    uniqueVulnId: '5001',
    qid: '38170',
    type: 'Confirmed',
    severity: 4,
    port: '443',
    protocol: 'tcp',
    ssl: true,
    status: 'Active',
    firstFound: '2025-06-01T10:00:00Z',
    lastFound: '2025-12-30T10:00:00Z',
    qds: 72,
    qdsSeverity: 'HIGH',
    timesFound: 12,
  },
  { qid: '105943', type: 'Potential', severity: 3, ssl: false, status: 'Fixed', lastFixed: '2025-12-01T08:00:00Z' },
];
const knowledgeBase = new Map([
  ['38170', { cves: ['CVE-2024-1234'] }],
  ['105943', { cves: ['CVE-2024-1234', 'CVE-2023-99999'] }],
]);

function fixedFinding(): Finding {
  const finding = mapFindings('prod', '120', detections, knowledgeBase, SEEN_AT).findings.find((f) => f.cve === 'CVE-2024-1234');
  if (!finding) throw new Error('the mapping produced no finding for CVE-2024-1234');
  return finding;
}

/** Builds the finding's fields in another order, as a refactored mapping might. */
function reordered<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).reverse()) as T;
}

const WHAT_TO_DO =
  'The hash of a finding changed. Every finding whose hash changes is rewritten by the first commit after deploying ' +
  'this, and the change feed reports it as "updated". If that is intended (the model or its mapping changed on ' +
  'purpose), update the pinned hash here and add a note to the README\'s "Upgrading" section; if not, make ' +
  'src/store/finding-hash.ts hash what it hashed before.';

describe('the finding record hash', () => {
  it('is pinned for a fixed finding (the value the store has held since record hashes began)', () => {
    const { recordHash } = hashedFinding(fixedFinding());
    if (recordHash !== '8b37b2690b1527760ae94933350c8bee') throw new Error(`${WHAT_TO_DO} (now ${recordHash})`);
  });

  it('does not move when the mapping builds the same fields in another order', () => {
    const finding = fixedFinding();
    const shuffled = reordered({ ...finding, evidence: finding.evidence.map(reordered) });
    expect(hashedFinding(shuffled).recordHash).toBe(hashedFinding(finding).recordHash);
  });

  it('moves when what Qualys reported moves, and not with the lifecycle columns', () => {
    const finding = fixedFinding();
    const base = hashedFinding(finding).recordHash;
    expect(hashedFinding({ ...finding, qds: 90 }).recordHash).not.toBe(base);
    expect(hashedFinding({ ...finding, evidence: finding.evidence.map((e) => ({ ...e, port: '8443' })) }).recordHash).not.toBe(base);
    expect(hashedFinding({ ...finding, status: 'fixed', lastSeenAt: '2026-02-01T00:00:00.000Z' }).recordHash).toBe(base);
  });

  it('is the MD5 of the stored record text', () => {
    const { record, recordHash } = hashedFinding(fixedFinding());
    expect(createHash('md5').update(record).digest('hex')).toBe(recordHash);
    expect(JSON.parse(record)).not.toHaveProperty('status');
  });
});
