import type { RunRef, PageRange } from '../contracts/run';
import type { Asset, Finding } from '../model/exposure';
import { hashedFinding } from './finding-hash';

export const ASSET_COLUMNS = ['run_key', 'page_index', 'key', 'host_id', 'record', 'qids'] as const;
export const FINDING_COLUMNS = ['run_key', 'page_index', 'key', 'asset_key', 'cve', 'status', 'record', 'record_hash'] as const;

/**
 * A mapped asset as a `staged_assets` row, with the QIDs detected on it: an incremental run finds the
 * hosts a KnowledgeBase change remaps by them.
 */
export function assetRow(run: RunRef, page: PageRange, asset: Asset, qids: readonly string[]): Array<string | number> {
  return [run.runKey, page.index, asset.key, asset.qualysHostId, JSON.stringify(asset), textArray(qids)];
}

/** A mapped finding as a `staged_findings` row. */
export function findingRow(run: RunRef, page: PageRange, finding: Finding): Array<string | number> {
  // What is hashed, and what a change of it does on deploy: see finding-hash.ts.
  const { record, recordHash } = hashedFinding(finding);
  return [run.runKey, page.index, finding.key, finding.assetKey, finding.cve, finding.status, record, recordHash];
}

/** A PostgreSQL text[] literal of QIDs (digits only, so nothing needs quoting). */
function textArray(values: readonly string[]): string {
  // In numeric order, so the same QIDs always give the same array (an asset's QIDs are compared).
  const qids = values.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(a) - Number(b));
  return `{${[...new Set(qids)].join(',')}}`;
}
