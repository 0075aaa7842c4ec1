import { CONCURRENCY_LIMIT, type RunRecord } from './soak';
import { FAULT_KINDS } from './schedule';

/** The soak's verdict: every number that must be 0 is, and no run's store diverged. */
export interface SoakSummary {
  runs: number;
  byOutcome: Record<string, number>;
  faults: Record<string, number>;
  diverged: number;
  stuck: number;
  /** Runs that failed: with a retry window far longer than any fault, none should. */
  failed: number;
  slotLeaks: number;
  overLimit: number;
  calls: number;
  callsOverMinimum: number;
  longestRecoveryMs?: number;
  ok: boolean;
}

export function summarise(records: readonly RunRecord[]): SoakSummary {
  const byOutcome: Record<string, number> = {};
  const faults: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  for (const r of records) {
    byOutcome[`${r.outcome} (${r.mode})`] = (byOutcome[`${r.outcome} (${r.mode})`] ?? 0) + 1;
    for (const [kind, n] of Object.entries(r.faults)) faults[kind] = (faults[kind] ?? 0) + (n ?? 0);
  }
  const recoveries = records.map((r) => r.longestRecoveryMs).filter((ms): ms is number => ms !== undefined);
  const diverged = records.filter((r) => r.divergences.length > 0).length;
  const stuck = records.filter((r) => r.outcome === 'stuck').length;
  const failed = records.filter((r) => r.outcome === 'failed').length;
  const slotLeaks = records.filter((r) => r.slotsLeft > 0).length;
  const overLimit = records.filter((r) => r.peakInFlight > CONCURRENCY_LIMIT).length;
  return {
    runs: records.length,
    byOutcome,
    faults,
    diverged,
    stuck,
    failed,
    slotLeaks,
    overLimit,
    calls: records.reduce((n, r) => n + r.calls, 0),
    callsOverMinimum: records.reduce((n, r) => n + r.callsOverMinimum, 0),
    longestRecoveryMs: recoveries.length > 0 ? Math.max(...recoveries) : undefined,
    ok: records.length > 0 && diverged === 0 && stuck === 0 && failed === 0 && slotLeaks === 0 && overLimit === 0,
  };
}

/** The table `npm run chaos` prints (Markdown, so it goes into CHAOS.md as it is). */
export function renderTable(summary: SoakSummary, settings: { seed: number; workers: number; hosts: number }): string {
  const rows: Array<[string, string]> = [
    ['seed', String(settings.seed)],
    ['runs', `${summary.runs} (${Object.entries(summary.byOutcome).map(([k, n]) => `${n} ${k}`).join(', ')})`],
    ['workers, hosts', `${settings.workers}, ${settings.hosts}`],
    ...Object.entries(summary.faults).map(([kind, n]): [string, string] => [`faults: ${kind}`, String(n)]),
    ['runs whose store diverged (must be 0)', String(summary.diverged)],
    ['runs stuck past the bound (must be 0)', String(summary.stuck)],
    ['runs failed although every fault was transient (must be 0)', String(summary.failed)],
    ['runs that left a slot held past its lease (must be 0)', String(summary.slotLeaks)],
    [`runs with more than ${CONCURRENCY_LIMIT} calls at once on an API (must be 0)`, String(summary.overLimit)],
    ['Qualys calls over the minimum (one per distinct request)', `${summary.callsOverMinimum} of ${summary.calls}`],
    ['longest recovery (fault over → the run moved on)', summary.longestRecoveryMs === undefined ? '—' : `${(summary.longestRecoveryMs / 1000).toFixed(1)} s`],
    ['verdict', summary.ok ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['| what | value |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n');
}
