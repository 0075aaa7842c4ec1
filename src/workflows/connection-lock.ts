import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { CancellationScope, ParentClosePolicy, condition, defineSignal, getExternalWorkflowHandle, patched, proxyActivities, setHandler, startChild } from '@temporalio/workflow';
import type { LockActivities } from '../activities/lock-activities';

/**
 * One run per connection at a time, whoever starts it (a schedule, `temporal workflow start` with any
 * workflow ID, the project's commands). A run holds the connection by running a lock workflow whose ID
 * is fixed per connection: Temporal lets only one workflow with an ID run at once, so a second run's
 * start of the lock fails at once — an atomic check no list query could give.
 *
 * The lock outlives the execution that took it (ParentClosePolicy ABANDON), so a run that continues as
 * new keeps the connection with no window in which another run could take it. It ends when its run
 * releases it, which the run does however it ends — but for termination (and a workflow timeout),
 * where no workflow code runs: then the next run of the connection finds the lock's run gone and
 * clears the lock before taking it (see `clearStaleLock`), so a lock is never left in the way.
 */
export const releaseConnectionLockSignal = defineSignal<[{ runKey: string }]>('release');

/** Whom a lock belongs to: the run's workflow ID and run key (its first execution's run ID). */
export interface LockOwner {
  workflowId: string;
  runKey: string;
}

export function connectionLockId(connection: string): string {
  return `qualys-connection-lock:${connection}`;
}

/** The lock itself: it holds until its run releases it. Nothing runs meanwhile, so its history stays tiny. */
export async function connectionLock(owner: LockOwner): Promise<void> {
  let released = false;
  setHandler(releaseConnectionLockSignal, ({ runKey }) => {
    // Only the owner may release: a stray signal from an older run must not free a newer run's lock.
    if (runKey === owner.runKey) released = true;
  });
  await condition(() => released);
}

const { clearStaleLock } = proxyActivities<LockActivities>({ startToCloseTimeout: '1 minute' });

/**
 * Takes the connection for the run. Returns undefined when taken, else the workflow ID of the run that
 * holds it. A lock whose run is gone is cleared first, so a terminated run never blocks the next one.
 */
export async function acquireConnectionLock(connection: string, owner: LockOwner): Promise<string | undefined> {
  if (await tryAcquireConnectionLock(connection, owner)) return undefined;
  const { holder, cleared } = await clearStaleLock({ lockWorkflowId: connectionLockId(connection) });
  if (cleared && (await tryAcquireConnectionLock(connection, owner))) return undefined;
  return holder;
}

/** Takes the connection's lock for the run, or returns false when another run holds it. */
async function tryAcquireConnectionLock(connection: string, owner: LockOwner): Promise<boolean> {
  try {
    // Outside the run's cancellation scope: a cancelled run releases its lock itself, after its cleanup.
    await CancellationScope.nonCancellable(() =>
      startChild(connectionLock, {
        workflowId: connectionLockId(connection),
        args: [owner],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `Held by the Qualys sync ${owner.workflowId} of connection ${connection}`,
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * Runs from this change release the lock outside the run's cancellation scope wherever they end. Before,
 * a run cancelled while its commit was running, whose commit then completed, skipped the release (a
 * signal sent from a cancelled scope is never sent) and left the lock for the next run to clear.
 */
const LOCK_RELEASED_ON_EVERY_ENDING = 'lock-released-on-every-ending';

/** Releases the run's lock; from any execution of the run (the lock outlived the one that took it), cancelled or not. */
export async function releaseConnectionLock(connection: string, owner: LockOwner): Promise<void> {
  const release = (): Promise<void> =>
    getExternalWorkflowHandle(connectionLockId(connection)).signal(releaseConnectionLockSignal, { runKey: owner.runKey });
  try {
    await (patched(LOCK_RELEASED_ON_EVERY_ENDING) ? CancellationScope.nonCancellable(release) : release());
  } catch {
    // The lock already ended (it saw its run end, or was terminated by hand): nothing to release.
  }
}
