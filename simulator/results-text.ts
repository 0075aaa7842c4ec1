/**
 * Detection `RESULTS` (served only with show_results=1). Real results run from a few bytes to
 * megabytes per detection (reference §3.4: "RESULTS can be many MB per detection"; J1 keeps 300 bytes,
 * Sentinel splits above 30 KB), quote paths, package lists and banners verbatim (with `&`, `<`, `"`
 * and tabs), and carry whatever text the host had, in any script.
 *
 * The realistic profile draws each detection's size from a long tail — three in four under 400 bytes,
 * about one in two thousand between 64 KB and 1 MB — and fills it with lines built from the UTF-8
 * samples, all from (seed, UNIQUE_VULN_ID) so the same detection always reads the same.
 */
import type { EstateDetection } from './detections';
import type { ContentProfile } from './profile';
import { Random } from './random';
import { BANNER_LINES, LINUX_RESULT_PATHS, WINDOWS_RESULT_PATHS } from './text-samples';

const RESULTS_STREAM = 0x4e5;

export const MAX_RESULTS_BYTES = 1_000_000;

/** A size in bytes from the long tail. */
export function resultsSize(r: Random): number {
  const roll = r.next();
  if (roll < 0.75) return r.int(20, 400);
  if (roll < 0.97) return r.int(400, 6_000);
  if (roll < 0.9995) return r.int(6_000, 64_000);
  return r.int(64_000, MAX_RESULTS_BYTES);
}

type Flavour = 'windows' | 'linux' | 'remote';

function flavourOf(category: string): Flavour {
  if (category === 'Windows' || category === 'Local') return 'windows';
  if (category === 'Ubuntu' || category === 'RedHat' || category === 'Amazon Linux') return 'linux';
  return 'remote';
}

function line(r: Random, flavour: Flavour, n: number): string {
  switch (flavour) {
    case 'windows': {
      const dir = r.pick(WINDOWS_RESULT_PATHS);
      return `${dir}\\module_${n}.dll\tVersion is ${r.int(1, 30)}.${r.int(0, 9)}.${r.int(1000, 22000)}.${r.int(0, 999)} & < fixed "${r.int(1, 30)}.${r.int(0, 9)}"`;
    }
    case 'linux': {
      const dir = r.pick(LINUX_RESULT_PATHS);
      return `lib${r.pick(['ssl', 'xml2', 'curl', 'z', 'krb5'])}-${n}\t${r.int(1, 3)}.${r.int(0, 20)}.${r.int(0, 99)}-${r.int(1, 9)}ubuntu${r.int(0, 5)}\t${dir}`;
    }
    case 'remote': {
      // Service banners as scanners capture them: ANSI colour codes (ESC) and NUL padding, raw.
      const banner = `${r.pick(BANNER_LINES)} [${n}]`;
      if (n % 5 === 0) return `\u001b[1;32m${banner}\u001b[0m`;
      if (n % 7 === 0) return `${banner}\u0000\u0000\u0000`;
      return banner;
    }
  }
}

/** Lines a detection's RESULTS are cut from, with their UTF-8 sizes; built once per (seed, flavour). */
interface LinePool {
  lines: string[];
  bytes: number[];
}

const POOL_SIZE = 256;
const pools = new Map<string, LinePool>();

function linePool(seed: number, flavour: Flavour): LinePool {
  const key = `${seed}/${flavour}`;
  let pool = pools.get(key);
  if (pool === undefined) {
    const r = new Random(seed, RESULTS_STREAM, flavour.length);
    const lines = Array.from({ length: POOL_SIZE }, (_, n) => line(r, flavour, n + 1));
    pool = { lines, bytes: lines.map((l) => Buffer.byteLength(l) + 1) };
    pools.set(key, pool);
  }
  return pool;
}

/** The RESULTS text of a detection. */
export function detectionResults(
  detection: EstateDetection,
  title: string,
  category: string,
  profile: ContentProfile,
  seed: number,
): string {
  const where = detection.port === undefined ? 'host' : `${detection.protocol ?? 'tcp'}/${detection.port}`;
  if (profile === 'minimal') {
    return `${title}\nDetected on ${where}:\tinstalled version < fixed version & "vulnerable" configuration present`;
  }
  const r = new Random(seed, RESULTS_STREAM, detection.uniqueVulnId);
  const target = resultsSize(r);
  const pool = linePool(seed, flavourOf(category));
  const first = `${title} – ${where}`;
  // Lines taken in turn from a pool (starting where this detection's draw says), until the size is reached.
  const parts: string[] = [first];
  let bytes = Buffer.byteLength(first);
  for (let k = r.int(0, POOL_SIZE - 1); bytes < target; k = (k + 1) % POOL_SIZE) {
    parts.push(pool.lines[k] ?? '');
    bytes += pool.bytes[k] ?? 1;
  }
  // Windows registry and command output keeps its CR LF line ends.
  return parts.join(flavourOf(category) === 'windows' ? '\r\n' : '\n');
}
