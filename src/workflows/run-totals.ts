import type { PageMapped, RunTotals } from '../contracts/run';

// Counting a run's pages: shared by the workflow and the benchmark's plain loop (pure, no I/O).

export function emptyTotals(): RunTotals {
  return { hosts: 0, assets: 0, detections: 0, findings: 0, droppedNoCve: 0, droppedUnknownQid: 0, pages: 0, knowledgeBaseLookups: 0 };
}

/** The run's totals with one more mapped and applied page. */
export function addPage(totals: RunTotals, mapped: PageMapped): RunTotals {
  const added: RunTotals = {
    ...totals,
    pages: totals.pages + 1,
    assets: totals.assets + mapped.assets,
    detections: totals.detections + mapped.detections,
    findings: totals.findings + mapped.findings,
    droppedNoCve: totals.droppedNoCve + mapped.droppedNoCve,
    droppedUnknownQid: totals.droppedUnknownQid + mapped.droppedUnknownQid,
    knowledgeBaseLookups: totals.knowledgeBaseLookups + mapped.knowledgeBaseLookups,
  };
  // Counts of what is rare stay absent until it happens (as the run report has always shown them).
  if (mapped.hostsOutsideIdSet) added.hostsOutsideIdSet = (totals.hostsOutsideIdSet ?? 0) + mapped.hostsOutsideIdSet;
  if (mapped.rejectedRecords) added.rejectedRecords = (totals.rejectedRecords ?? 0) + mapped.rejectedRecords;
  if (mapped.hostsKept) added.hostsKept = (totals.hostsKept ?? 0) + mapped.hostsKept;
  return added;
}
