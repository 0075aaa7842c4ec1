import type { PageMapped, RunTotals } from '../contracts/run';

// Counting a run's pages: shared by the workflow and the benchmark's plain loop (pure, no I/O).

export function emptyTotals(): RunTotals {
  return { hosts: 0, assets: 0, detections: 0, findings: 0, droppedNoCve: 0, droppedUnknownQid: 0, pages: 0, knowledgeBaseLookups: 0 };
}

/** Adds one mapped and uploaded page to the run's totals. */
export function addPage(totals: RunTotals, mapped: PageMapped): void {
  totals.pages += 1;
  totals.assets += mapped.assets;
  totals.detections += mapped.detections;
  totals.findings += mapped.findings;
  totals.droppedNoCve += mapped.droppedNoCve;
  totals.droppedUnknownQid += mapped.droppedUnknownQid;
  totals.knowledgeBaseLookups += mapped.knowledgeBaseLookups;
  if (mapped.hostsOutsideIdSet) totals.hostsOutsideIdSet = (totals.hostsOutsideIdSet ?? 0) + mapped.hostsOutsideIdSet;
  if (mapped.rejectedRecords) totals.rejectedRecords = (totals.rejectedRecords ?? 0) + mapped.rejectedRecords;
  if (mapped.hostsKept) totals.hostsKept = (totals.hostsKept ?? 0) + mapped.hostsKept;
}
