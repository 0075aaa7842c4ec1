import { readFileSync } from 'node:fs';

/** Peak resident set size of a process (VmHWM), in MiB; Linux only. */
export function peakRssMiB(pid: number | 'self' = 'self'): number | undefined {
  return statusMiB(pid, 'VmHWM');
}

/** Resident set size of a process now (VmRSS), in MiB; Linux only. */
export function rssMiB(pid: number | 'self' = 'self'): number | undefined {
  return statusMiB(pid, 'VmRSS');
}

/** A memory field of /proc/PID/status, in MiB; undefined off Linux or once the process is gone. */
function statusMiB(pid: number | 'self', field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
