import type { RunRef } from '../../src/contracts/run';
import type { RunReport } from '../../src/store/types';

type CommitReport = Omit<RunReport, 'changes' | 'state'>;

/**
 * A run report with nothing counted but one page, for store tests that commit records they wrote
 * themselves; `change` adjusts what a test needs counted (a host count, rejected records …).
 */
export function emptyRunReport(run: RunRef, change: (report: CommitReport) => CommitReport = (r) => r): CommitReport {
  return change({
    modelVersion: 'x',
    connection: run.connection,
    workflowId: run.workflowId,
    runKey: run.runKey,
    startedAt: run.startedAt,
    committedAt: run.startedAt,
    durationSeconds: 0,
    totals: { hosts: 0, assets: 0, detections: 0, findings: 0, droppedNoCve: 0, droppedUnknownQid: 0, pages: 1, knowledgeBaseLookups: 0 },
    dropped: { qidWithoutCve: 0, qidNotInKnowledgeBase: 0 },
    apiCalls: { callsByEndpoint: {}, failuresByCode: {}, retryDelaySeconds: 0, total: 0 },
    waiting: { rateLimitTimerSeconds: 0, retryDelaySeconds: 0 },
    continuedAsNew: 0,
    watermark: run.startedAt,
    plan: { mode: 'full', reason: 'a test' },
  });
}
