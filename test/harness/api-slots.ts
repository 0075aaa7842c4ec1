import { Pool } from 'pg';

export interface HeldAdvisoryLock {
  /** The holder's `application_name`: `qualys-connector api-slots pid=<process id>` for a slot. */
  applicationName: string;
  /** The operating-system process that holds it (parsed from the application name), when a connector process. */
  processId?: number;
  backendPid: number;
}

/** The advisory locks granted in the store's database right now (slots and gates). */
export async function heldAdvisoryLocks(databaseUrl: string): Promise<HeldAdvisoryLock[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query<{ application_name: string; pid: number }>(
      `SELECT a.application_name, l.pid
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return rows.map((r) => {
      const processId = /api-slots pid=(\d+)/.exec(r.application_name)?.[1];
      return { applicationName: r.application_name, backendPid: r.pid, processId: processId ? Number(processId) : undefined };
    });
  } finally {
    await pool.end();
  }
}

/** Tracks how many calls are inside a section at once, and the most there ever were. */
export function inFlightCounter(): { enter(): void; leave(): void; peak(): number } {
  let now = 0;
  let peak = 0;
  return {
    enter: () => {
      now += 1;
      peak = Math.max(peak, now);
    },
    leave: () => {
      now -= 1;
    },
    peak: () => peak,
  };
}
