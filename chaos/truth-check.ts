import type { GroundTruth } from '../simulator';
import type { StoreState } from './store-state';

/**
 * The soak's invariant after a committed run: the store equals the simulator's truth. The expected
 * findings are computed here from the truth itself — one finding per (host, CVE of a detected QID), open
 * while any of its detections is not Fixed — never through the connector's own mapping, so a mistake
 * there cannot hide in both. Keys follow the exposure model's documented form.
 *
 * What the store must hold for the connection:
 *  - every host of the truth as an active asset, and no other active asset;
 *  - every asset it held before still there (a host gone from Qualys is `removed`, not lost);
 *  - every expected finding, with its status and its evidence (QID and Qualys status of each detection);
 *  - every other finding fixed: one that was open before closed `no-longer-reported` when its host is still
 *    there, `asset-removed` when not; one that was fixed already keeps the reason it was closed for;
 *  - every finding it held before still there.
 */

const OPEN_STATUSES = new Set(['New', 'Active', 'Re-Opened']);
/** Divergences listed per check at most (the count is always exact). */
const LISTED = 10;

interface ExpectedFinding {
  status: 'open' | 'fixed';
  evidence: string[];
}

export function expectedFindings(truth: GroundTruth, connection: string): Map<string, ExpectedFinding> {
  const expected = new Map<string, { statuses: string[]; evidence: string[] }>();
  for (const host of truth.hosts) {
    for (const detection of host.detections) {
      const cves = new Set(truth.knowledgeBase[detection.qid]?.cves ?? []);
      for (const cve of cves) {
        const key = `${assetKeyOf(connection, host.id)}:cve:${cve}`;
        const entry = expected.get(key) ?? { statuses: [], evidence: [] };
        entry.statuses.push(detection.status);
        entry.evidence.push(`${detection.qid}/${detection.status}`);
        expected.set(key, entry);
      }
    }
  }
  return new Map(
    [...expected].map(([key, e]) => [key, { status: e.statuses.some((s) => OPEN_STATUSES.has(s)) ? 'open' : 'fixed', evidence: e.evidence.sort() }]),
  );
}

/** What differs between the store and the truth (empty when they agree). */
export function divergencesFromTruth(truth: GroundTruth, connection: string, after: StoreState, before: StoreState): string[] {
  const problems: string[] = [];
  const note = (what: string, keys: string[]): void => {
    if (keys.length > 0) problems.push(`${what} (${keys.length}): ${keys.slice(0, LISTED).join(', ')}${keys.length > LISTED ? ', …' : ''}`);
  };
  const hostKeys = new Set(truth.hosts.map((h) => assetKeyOf(connection, h.id)));
  const assets = new Map(after.assets.map((a) => [a.key, a]));
  note('hosts of the truth not active in the store', [...hostKeys].filter((k) => assets.get(k)?.status !== 'active'));
  note('active assets that are not in the truth', after.assets.filter((a) => a.status === 'active' && !hostKeys.has(a.key)).map((a) => a.key));
  note('assets lost since the last committed run', before.assets.filter((a) => !assets.has(a.key)).map((a) => a.key));

  const expected = expectedFindings(truth, connection);
  const findings = new Map(after.findings.map((f) => [f.key, f]));
  const wrong: string[] = [];
  for (const [key, want] of expected) {
    const got = findings.get(key);
    if (!got) wrong.push(`${key} missing`);
    else if (got.status !== want.status) wrong.push(`${key} ${got.status}, truth ${want.status}`);
    else if (got.closedReason !== (want.status === 'open' ? null : 'qualys-fixed')) wrong.push(`${key} closed as ${got.closedReason}`);
    else if (got.evidence.join(',') !== want.evidence.join(',')) wrong.push(`${key} evidence ${got.evidence.join(',')}, truth ${want.evidence.join(',')}`);
  }
  note('findings that differ from the truth', wrong);
  const previously = new Map(before.findings.map((f) => [f.key, f]));
  const closedWrongly = after.findings
    .filter((f) => !expected.has(f.key))
    .filter((f) => {
      const was = previously.get(f.key);
      const reason = was?.status === 'fixed' ? was.closedReason : hostKeys.has(f.assetKey) ? 'no-longer-reported' : 'asset-removed';
      return f.status !== 'fixed' || f.closedReason !== reason;
    })
    .map((f) => `${f.key} ${f.status}/${f.closedReason}`);
  note('findings the truth no longer has that are not closed for that reason', closedWrongly);
  note('findings lost since the last committed run', before.findings.filter((f) => !findings.has(f.key)).map((f) => f.key));
  return problems;
}

/** A failed or cancelled run must leave the store exactly as it found it. */
export function divergencesFromBefore(after: StoreState, before: StoreState): string[] {
  if (after.digest === before.digest) return [];
  return [
    `the store changed although the run did not commit (assets ${before.assets.length} → ${after.assets.length}, findings ${before.findings.length} → ${after.findings.length}, current run ${before.currentRunKey} → ${after.currentRunKey})`,
  ];
}

function assetKeyOf(connection: string, hostId: string): string {
  return `qualys:${connection}:host:${hostId}`;
}
