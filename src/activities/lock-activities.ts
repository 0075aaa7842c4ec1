import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** Activities that read Temporal itself (through the worker's own connection), not Qualys. */
export function createLockActivities() {
  return {
    /**
     * Who holds a connection's lock — the run that took it (the lock's parent) — and whether that run
     * is gone: terminated or timed out without releasing it, or its workflow ID now used by another
     * run. A stale lock is terminated here, so the caller can take the connection at once.
     */
    async clearStaleLock(input: { lockWorkflowId: string }): Promise<{ holder: string; cleared: boolean }> {
      const client = Context.current().client;
      try {
        const lock = await client.workflow.getHandle(input.lockWorkflowId).describe();
        const parent = lock.parentExecution;
        if (!parent?.workflowId || !parent.runId) return { holder: input.lockWorkflowId, cleared: false };
        const owner = { workflowId: parent.workflowId, runId: parent.runId };
        if (lock.status.name !== 'RUNNING' || (await runStillRunning(client, owner))) return { holder: owner.workflowId, cleared: false };
        await client.workflow
          .getHandle(input.lockWorkflowId, lock.runId)
          .terminate(`its run ${owner.workflowId} ended without releasing it (terminated or timed out)`);
        return { holder: owner.workflowId, cleared: true };
      } catch (err) {
        // It ended between the start and this look: the caller tries again.
        if (err instanceof WorkflowNotFoundError) return { holder: input.lockWorkflowId, cleared: true };
        throw err;
      }
    },
  };
}

/** Whether the run whose first execution is `runId` is still running (continued as new counts). */
async function runStillRunning(client: Client, owner: { workflowId: string; runId: string }): Promise<boolean> {
  try {
    const latest = await client.workflow.getHandle(owner.workflowId).describe();
    const firstRunId = latest.raw.workflowExecutionInfo?.firstRunId;
    return latest.status.name === 'RUNNING' && (!firstRunId || firstRunId === owner.runId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export type LockActivities = ReturnType<typeof createLockActivities>;
