import type { CommitPolicy } from './types';

/**
 * Why a run's host count must not replace the last committed one, or undefined when it may. A count
 * that collapses usually means the API user lost scope, not that the estate vanished; committing it
 * would mark every asset removed and close every finding.
 */
export function shrinkProblem(previous: number | undefined, current: number, policy: Pick<CommitPolicy, 'allowShrink' | 'maxShrinkShare'>): string | undefined {
  if (policy.allowShrink || previous === undefined || previous === 0) return undefined;
  const dropped = (previous - current) / previous;
  if (current > 0 && dropped <= policy.maxShrinkShare) return undefined;
  return (
    `Qualys returned ${current} hosts where the last committed run had ${previous} ` +
    `(a drop of ${Math.round(dropped * 100)} %, more than the ${Math.round(policy.maxShrinkShare * 100)} % allowed), so this run was not committed and the store is unchanged. ` +
    'Likely causes: the API user lost scope (asset groups or network access removed from the user in Qualys), or the subscription changed. ' +
    'Check the user\'s asset groups; if the estate really shrank, run again with "allowShrink": true in the input.'
  );
}
