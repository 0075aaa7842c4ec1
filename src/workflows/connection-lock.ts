import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, condition, defineSignal, setHandler, sleep, startChild } from '@temporalio/workflow';

/**
 * One run per connection at a time, whoever starts it (a schedule, `temporal workflow start` with any
 * workflow ID, the project's commands). A run holds the connection by running a child workflow whose ID
 * is fixed per connection: Temporal lets only one workflow with an ID run at once, so the second run's
 * start of the child fails at once — an atomic check no list query could give. The child dies with its
 * parent (ParentClosePolicy TERMINATE), so a crashed or terminated run never leaves the lock behind.
 */
export const releaseConnectionLockSignal = defineSignal('release');

export function connectionLockId(connection: string): string {
  return `qualys-connection-lock:${connection}`;
}

/** The lock itself: it holds until its run releases it or ends. */
export async function connectionLock(): Promise<void> {
  let released = false;
  setHandler(releaseConnectionLockSignal, () => {
    released = true;
  });
  await condition(() => released);
}

export interface HeldLock {
  release(): Promise<void>;
}

/** Takes the connection's lock, or returns undefined when another run holds it. */
export async function tryAcquireConnectionLock(connection: string): Promise<HeldLock | undefined> {
  try {
    const child = await startChild(connectionLock, {
      workflowId: connectionLockId(connection),
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      staticSummary: `Held by the running Qualys sync of connection ${connection}`,
    });
    return {
      release: async () => {
        await child.signal(releaseConnectionLockSignal);
        await child.result();
      },
    };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw err;
  }
}

/**
 * After continue-as-new the previous execution's lock may take a moment to end; this execution already
 * owns the connection, so it waits for the lock instead of giving up.
 */
export async function reacquireConnectionLock(connection: string): Promise<HeldLock> {
  for (;;) {
    const lock = await tryAcquireConnectionLock(connection);
    if (lock) return lock;
    await sleep('2s', { summary: 'waiting for the previous execution to release the connection lock' });
  }
}
