/**
 * The removed assets whose retention is over: removed for longer than the retention before the given
 * time. One definition for the commit that deletes them and the change feed that records the deletion.
 * Arguments are SQL expressions (the statements' parameters).
 */
export function expiredRemovedAssets(connection: string, time: string, retentionDays: string): string {
  return `connection = ${connection} AND status = 'removed' AND removed_at < ${time}::timestamptz - make_interval(days => ${retentionDays})`;
}
