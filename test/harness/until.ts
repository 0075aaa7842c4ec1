import type { Client } from '@temporalio/client';

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the connection's lock is held by the run with this workflow ID (it took the connection). */
export async function untilLockHeldBy(
  client: Client,
  lockWorkflowId: string,
  workflowId: string,
): Promise<void> {
  await until(`${workflowId} holding ${lockWorkflowId}`, async () => {
    try {
      const lock = await client.workflow.getHandle(lockWorkflowId).describe();
      return lock.status.name === 'RUNNING' && lock.parentExecution?.workflowId === workflowId ? true : undefined;
    } catch {
      return undefined; // not started yet
    }
  });
}
