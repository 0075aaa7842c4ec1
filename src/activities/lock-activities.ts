import { Context } from '@temporalio/activity';

/** Activities that read Temporal itself (through the worker's own connection), not Qualys. */
export function createLockActivities() {
  return {
    /** Which run holds a connection's lock: the lock workflow's parent. */
    async describeLockHolder(input: { lockWorkflowId: string }): Promise<string> {
      try {
        const description = await Context.current().client.workflow.getHandle(input.lockWorkflowId).describe();
        return description.parentExecution?.workflowId ?? input.lockWorkflowId;
      } catch {
        // It just ended: say which lock, so the person can look.
        return input.lockWorkflowId;
      }
    },
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
