/**
 * A host's vulnerability detections, generated from (seed, host index): QIDs from the KnowledgeBase,
 * statuses New/Active/Re-Opened/Fixed with consistent first/last found and fixed times.
 */
import { DAY_MS } from './dates';
import type { KnowledgeBase, KnowledgeBaseEntry } from './knowledge-base';
import { Random } from './random';
import type { DetectionStatus } from './types';

export interface EstateDetection {
  uniqueVulnId: number;
  qid: number;
  type: 'Confirmed' | 'Potential';
  severity: number;
  port?: number;
  protocol?: 'tcp' | 'udp';
  ssl: boolean;
  status: DetectionStatus;
  firstFoundMs: number;
  lastFoundMs: number;
  lastFixedMs?: number;
  firstReopenedMs?: number;
  lastReopenedMs?: number;
  timesReopened?: number;
  timesFound: number;
  qds?: number;
  lastTestMs: number;
  lastUpdateMs: number;
  lastProcessedMs: number;
}

/** Module-local aliases: global lookups are slow inside jest's VM contexts (see random.ts). */
const { floor, min, max, log, round } = Math;

/** At most this many generated detections per host; detections found later fill up to the stride. */
export const MAX_DETECTIONS_PER_HOST = 500;
const UNIQUE_VULN_ID_BASE = 1_000_000_000;
/** UNIQUE_VULN_IDs reserved per host index: a host never has more detections than this. */
export const UNIQUE_VULN_ID_STRIDE = 512;
const DETECTION_STREAM = 0xde7;

/** The k-th UNIQUE_VULN_ID of host `index`: unique across the estate and every generation. */
export function uniqueVulnIdFor(index: number, k: number): number {
  return UNIQUE_VULN_ID_BASE + index * UNIQUE_VULN_ID_STRIDE + k;
}

const REMOTE_PORTS: ReadonlyArray<readonly [number, 'tcp' | 'udp']> = [
  [22, 'tcp'], [443, 'tcp'], [3389, 'tcp'], [445, 'tcp'], [25, 'tcp'], [161, 'udp'], [123, 'udp'], [8443, 'tcp'],
];
const WEB_PORTS: ReadonlyArray<readonly [number, 'tcp' | 'udp']> = [[80, 'tcp'], [443, 'tcp'], [8080, 'tcp'], [8443, 'tcp']];
const DATABASE_PORTS: ReadonlyArray<readonly [number, 'tcp' | 'udp']> = [[3306, 'tcp'], [5432, 'tcp'], [1433, 'tcp']];
const TLS_PORTS = new Set([443, 8443, 3389, 636, 993]);

function detectionCount(r: Random, mean: number): number {
  if (mean <= 0 || r.chance(0.1)) return 0;
  // Exponential around mean/0.9 so that the estate-wide average (zeros included) is ≈ mean.
  const draw = -log(1 - r.next()) * (mean / 0.9);
  return min(MAX_DETECTIONS_PER_HOST, max(1, round(draw)));
}

function portFor(r: Random, category: string, remote: boolean): readonly [number, 'tcp' | 'udp'] | undefined {
  if (category === 'Web server') return r.pick(WEB_PORTS);
  if (category === 'Database') return r.chance(0.8) ? r.pick(DATABASE_PORTS) : undefined;
  if (remote) return r.chance(0.8) ? r.pick(REMOTE_PORTS) : undefined;
  return r.chance(0.05) ? r.pick(REMOTE_PORTS) : undefined;
}

/** QDS roughly follows severity (reference §3.3: 1–100). */
function qdsFor(r: Random, severity: number): number {
  return min(100, max(1, severity * 18 + r.int(-12, 12)));
}

export function qdsSeverity(qds: number): 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' {
  if (qds >= 90) return 'CRITICAL';
  if (qds >= 70) return 'HIGH';
  if (qds >= 40) return 'MEDIUM';
  return 'LOW';
}

function detectionType(r: Random, entry: KnowledgeBaseEntry): 'Confirmed' | 'Potential' {
  if (entry.vulnType === 'Vulnerability') return 'Confirmed';
  if (entry.vulnType === 'Potential Vulnerability') return 'Potential';
  return r.chance(0.5) ? 'Confirmed' : 'Potential';
}

/**
 * The detections of host `index` as of its scan at `scanMs` (the host's generated last scan). Pure.
 * Undefined `scanMs`: never scanned, so nothing detected.
 */
export function generateDetections(
  seed: number,
  index: number,
  scanMs: number | undefined,
  kb: KnowledgeBase,
  meanPerHost: number,
): EstateDetection[] {
  if (scanMs === undefined) return [];
  const r = new Random(seed, DETECTION_STREAM, index);
  const count = detectionCount(r, meanPerHost);
  const popular = kb.popularQids;
  const seen = new Set<string>();
  const found: EstateDetection[] = [];
  for (let attempt = 0; found.length < count && attempt < count * 4; attempt++) {
    // Squaring skews towards the front of the popularity order: a few QIDs are on many hosts.
    const qid = popular[floor(r.next() ** 2 * popular.length)];
    const entry = qid === undefined ? undefined : kb.get(qid);
    if (entry === undefined) continue;
    const port = portFor(r, entry.category, entry.remoteDiscovery);
    const key = `${entry.qid}/${port?.[0] ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);

    const type = detectionType(r, entry);
    const status = r.weighted<DetectionStatus>([['New', 15], ['Active', 55], ['Re-Opened', 5], ['Fixed', 25]]);
    const ageMs = r.int(7, 400) * DAY_MS + r.int(0, 86_399) * 1000;
    const detection: EstateDetection = {
      uniqueVulnId: 0, // assigned after sorting
      qid: entry.qid,
      type,
      severity: entry.severity,
      ssl: port !== undefined && TLS_PORTS.has(port[0]) && r.chance(0.8),
      status,
      firstFoundMs: scanMs - ageMs,
      lastFoundMs: scanMs,
      timesFound: r.int(2, 90),
      lastTestMs: scanMs,
      lastUpdateMs: scanMs,
      lastProcessedMs: scanMs + r.int(60, 1800) * 1000,
    };
    if (port !== undefined) {
      detection.port = port[0];
      detection.protocol = port[1];
    }
    if (r.chance(0.75)) detection.qds = qdsFor(r, entry.severity);
    switch (status) {
      case 'New':
        detection.firstFoundMs = scanMs;
        detection.timesFound = 1;
        break;
      case 'Active':
        break;
      case 'Fixed': {
        // Last seen some scans ago, then verified fixed by a later scan.
        const lastSeen = scanMs - floor(r.next() * (ageMs - DAY_MS)) - DAY_MS;
        detection.lastFoundMs = max(detection.firstFoundMs, lastSeen);
        detection.lastFixedMs = min(scanMs, detection.lastFoundMs + r.int(1, 14) * DAY_MS);
        detection.lastUpdateMs = detection.lastFixedMs;
        break;
      }
      case 'Re-Opened': {
        const fixedAt = detection.firstFoundMs + floor((scanMs - detection.firstFoundMs) / 2);
        detection.lastFixedMs = fixedAt;
        detection.firstReopenedMs = scanMs - r.int(0, 3) * DAY_MS;
        detection.lastReopenedMs = scanMs;
        detection.timesReopened = r.int(1, 3);
        detection.timesFound = max(3, detection.timesFound);
        break;
      }
    }
    found.push(detection);
  }
  found.sort(compareDetections);
  found.forEach((d, k) => {
    d.uniqueVulnId = uniqueVulnIdFor(index, k);
  });
  return found;
}

/** A detection first found by a later generation's scan of host `index`: status New, seen once. */
export function newlyFoundDetection(r: Random, index: number, k: number, entry: KnowledgeBaseEntry, scanMs: number): EstateDetection {
  const port = portFor(r, entry.category, entry.remoteDiscovery);
  const detection: EstateDetection = {
    uniqueVulnId: uniqueVulnIdFor(index, k),
    qid: entry.qid,
    type: detectionType(r, entry),
    severity: entry.severity,
    ssl: port !== undefined && TLS_PORTS.has(port[0]) && r.chance(0.8),
    status: 'New',
    firstFoundMs: scanMs,
    lastFoundMs: scanMs,
    timesFound: 1,
    lastTestMs: scanMs,
    lastUpdateMs: scanMs,
    lastProcessedMs: scanMs + r.int(60, 1800) * 1000,
  };
  if (port !== undefined) {
    detection.port = port[0];
    detection.protocol = port[1];
  }
  if (r.chance(0.75)) detection.qds = qdsFor(r, entry.severity);
  return detection;
}

/** The order detections are served in: by QID, then port. */
export function compareDetections(a: EstateDetection, b: EstateDetection): number {
  return a.qid - b.qid || (a.port ?? -1) - (b.port ?? -1);
}

/** The RESULTS text of a detection (served only with show_results=1): has characters that need CDATA. */
export function detectionResults(detection: EstateDetection, title: string): string {
  const where = detection.port === undefined ? 'host' : `${detection.protocol ?? 'tcp'}/${detection.port}`;
  return `${title}\nDetected on ${where}:\tinstalled version < fixed version & "vulnerable" configuration present`;
}
