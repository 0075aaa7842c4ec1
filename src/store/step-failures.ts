import type { Pool } from 'pg';
import { z } from 'zod';

/**
 * How often one step has failed one way, across its attempts (the `step_failures` table, migration 12).
 * Temporal numbers a step's attempts, but an attempt may end for another reason — its worker killed or
 * paused past the heartbeat timeout, a 5xx — so "the fourth attempt" is not "the fourth malformed answer".
 */

export interface StepRef {
  /** The workflow execution's run ID. */
  workflowRunId: string;
  /** The activity's ID: the same for every attempt of the step. */
  activityId: string;
}

/** A step's counts outlive its run by this long, then go (a finished step never counts again). */
const KEPT_DAYS = 7;

/** Counts one more failure of this kind for the step; resolves with its count so far, this one included. */
export async function countStepFailure(pool: Pool, step: StepRef, kind: string): Promise<number> {
  const { rows } = await pool.query(
    `WITH pruned AS (DELETE FROM step_failures WHERE last_at < clock_timestamp() - make_interval(days => $4))
     INSERT INTO step_failures AS s (workflow_run_id, activity_id, kind, failures) VALUES ($1, $2, $3, 1)
     ON CONFLICT (workflow_run_id, activity_id, kind) DO UPDATE SET failures = s.failures + 1, last_at = clock_timestamp()
     RETURNING failures`,
    [step.workflowRunId, step.activityId, kind, KEPT_DAYS],
  );
  return z.object({ failures: z.number() }).parse(rows[0]).failures;
}
