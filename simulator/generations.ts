/**
 * `advance`: moves an estate one generation on. Some hosts are removed, some added (with IDs never used
 * before), on others a new scan fixes, finds or reopens detections, and a few QIDs in use gain a CVE.
 * Every choice is drawn from (seed, generation), so the same seed and the same sequence of options give
 * the same estate; only the wall-clock stamps (lastProcessedAt, the KB modification time) differ.
 * Only the deltas are stored (estate-changes.ts), so an advanced estate still costs little memory.
 */
import { ESTATE_NOW_MS, estateNowMs } from './dates';
import { type EstateDetection, newlyFoundDetection, UNIQUE_VULN_ID_STRIDE } from './detections';
import type { Estate } from './estate';
import type { DetectionEvent } from './estate-changes';
import type { EstateHost } from './hosts';
import { type KnowledgeBaseEntry, mayCarryCve } from './knowledge-base';
import { Random } from './random';
import type { AdvanceOptions, AdvanceSummary } from './types';

/** About 5 % of the hosts change per generation: 1 % added, 1 % removed, 3 % changed. */
export const DEFAULT_ADVANCE_OPTIONS: Readonly<Required<AdvanceOptions>> = {
  addedShare: 0.01,
  removedShare: 0.01,
  changedShare: 0.03,
  qidsGainingCve: 2,
};

const SELECT_STREAM = 0x5e1ec7;
const CHANGE_STREAM = 0xc4a9e;
const CVE_STREAM = 0xc7e;

/** A generation's scans happen within this long before its estate-now (a day after the previous one's). */
const SCAN_WINDOW_SECONDS = 20 * 3600;
/** Looking for QIDs in use stops after this many hosts, which bounds the cost on huge estates. */
const CVE_CANDIDATE_HOSTS = 5000;
/** Generated CVE numbers stay below this, so CVEs gained later never collide with generated ones. */
const GAINED_CVE_FROM = 50_000;

const OPTION_NAMES: ReadonlyArray<keyof AdvanceOptions> = ['addedShare', 'removedShare', 'changedShare', 'qidsGainingCve'];

/** Checks options from JSON or a caller; throws with a readable message when they are not AdvanceOptions. */
export function parseAdvanceOptions(value: unknown): AdvanceOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('advance options must be a JSON object');
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!OPTION_NAMES.some((name) => name === key)) throw new Error(`unknown advance option: ${key}`);
  }
  const options: AdvanceOptions = {};
  const share = (key: 'addedShare' | 'removedShare' | 'changedShare', max: number): void => {
    const v = input[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new Error(`${key} must be a number from 0 to ${max}`);
    options[key] = v;
  };
  // Adding may grow the estate by more than it holds; removing or changing cannot exceed all of it.
  share('addedShare', 10);
  share('removedShare', 1);
  share('changedShare', 1);
  const qids = input['qidsGainingCve'];
  if (qids !== undefined) {
    if (typeof qids !== 'number' || !Number.isInteger(qids) || qids < 0) throw new Error('qidsGainingCve must be a non-negative integer');
    options.qidsGainingCve = qids;
  }
  return options;
}

function withDefaults(options: AdvanceOptions): Required<AdvanceOptions> {
  const removedShare = options.removedShare ?? DEFAULT_ADVANCE_OPTIONS.removedShare;
  return {
    removedShare,
    // Removing every host means "empty the estate": nothing is added unless asked for.
    addedShare: options.addedShare ?? (removedShare >= 1 ? 0 : DEFAULT_ADVANCE_OPTIONS.addedShare),
    changedShare: options.changedShare ?? DEFAULT_ADVANCE_OPTIONS.changedShare,
    qidsGainingCve: options.qidsGainingCve ?? DEFAULT_ADVANCE_OPTIONS.qidsGainingCve,
  };
}

/** A share of `base` hosts; at least one when the share is above 0, so small estates change too. */
function shareCount(share: number, base: number): number {
  if (share <= 0 || base <= 0) return 0;
  return Math.max(1, Math.round(share * base));
}

/** Distinct items in random order, shuffled only as far as they are drawn (partial Fisher–Yates). */
class Draw {
  private drawn = 0;

  constructor(
    private readonly items: number[],
    private readonly r: Random,
  ) {}

  next(): number | undefined {
    if (this.drawn >= this.items.length) return undefined;
    const j = this.r.int(this.drawn, this.items.length - 1);
    const item = this.items[j] as number;
    this.items[j] = this.items[this.drawn] as number;
    this.items[this.drawn] = item;
    this.drawn++;
    return item;
  }
}

function sample<T>(r: Random, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = r.int(i, pool.length - 1);
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}

const isOpen = (d: EstateDetection): boolean => d.status !== 'Fixed';

/** A detectable QID the host has no detection of, drawn like generated detections (popular ones first). */
function unseenQid(estate: Estate, r: Random, had: ReadonlySet<number>): KnowledgeBaseEntry | undefined {
  const popular = estate.knowledgeBase.popularQids;
  for (let attempt = 0; attempt < 20; attempt++) {
    const qid = popular[Math.floor(r.next() ** 2 * popular.length)];
    const entry = qid === undefined || had.has(qid) ? undefined : estate.knowledgeBase.get(qid);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/**
 * What a new scan of the host at `scanMs` finds: some open detections fixed, Fixed ones reopened, new
 * QIDs. Every change is recorded at `wallClockMs` (see DetectionEvent).
 */
function scanEvents(estate: Estate, host: EstateHost, r: Random, scanMs: number, wallClockMs: number): DetectionEvent[] {
  const detections = estate.detections(host);
  const open = detections.filter(isOpen);
  const fixed = detections.filter((d) => !isOpen(d));
  let fixing = open.length > 0 && r.chance(0.6) ? r.int(1, Math.min(3, open.length)) : 0;
  const reopening = fixed.length > 0 && r.chance(0.3) ? 1 : 0;
  let finding = r.chance(0.5) ? r.int(1, 2) : 0;
  if (fixing + reopening + finding === 0) {
    if (open.length > 0) fixing = 1;
    else finding = 1;
  }
  const events: DetectionEvent[] = [];
  for (const d of sample(r, open, fixing)) events.push({ kind: 'fixed', uniqueVulnId: d.uniqueVulnId, atMs: scanMs, recordedMs: wallClockMs });
  for (const d of sample(r, fixed, reopening)) events.push({ kind: 'reopened', uniqueVulnId: d.uniqueVulnId, atMs: scanMs, recordedMs: wallClockMs });
  const had = new Set(detections.map((d) => d.qid));
  for (let n = 0; n < finding; n++) {
    // Detections are numbered 0..length-1 on each host, so the next number is free.
    const k = detections.length + n;
    const entry = k < UNIQUE_VULN_ID_STRIDE ? unseenQid(estate, r, had) : undefined;
    if (entry === undefined) break;
    had.add(entry.qid);
    const detection = newlyFoundDetection(r, host.index, k, entry, scanMs);
    detection.lastUpdateMs = wallClockMs;
    detection.lastProcessedMs = wallClockMs;
    events.push({ kind: 'found', detection });
  }
  return events;
}

interface Tally {
  fixed: number;
  found: number;
  reopened: number;
}

/** Rescans up to `count` drawn hosts (never-scanned ones are passed over); returns the changed indexes. */
function changeHosts(estate: Estate, draw: Draw, count: number, wallClockMs: number, tally: Tally): number[] {
  const generation = estate.generation;
  const changed: number[] = [];
  while (changed.length < count) {
    const index = draw.next();
    if (index === undefined) break;
    const host = estate.host(index);
    if (host.lastVmScanMs === undefined) continue;
    const r = new Random(estate.seed, CHANGE_STREAM, generation, index);
    const scanMs = estateNowMs(generation) - r.int(0, SCAN_WINDOW_SECONDS) * 1000;
    const events = scanEvents(estate, host, r, scanMs, wallClockMs);
    if (events.length === 0) continue;
    estate.changes.recordScan(host, scanMs, wallClockMs, events);
    for (const event of events) tally[event.kind] += 1;
    changed.push(index);
  }
  return changed;
}

/**
 * Adds `count` hosts at fresh indexes (so with host IDs above every ID used before), generated like the
 * others but relative to this generation's estate-now. Only hosts a scan would report are kept: with a
 * HostAsset and an open detection; other fresh indexes are skipped, like IDs Qualys never assigned.
 */
function addHosts(estate: Estate, count: number, wallClockMs: number): number[] {
  const shiftMs = estateNowMs(estate.generation) - ESTATE_NOW_MS;
  const added: number[] = [];
  // Bounded: most generated hosts qualify, so this ends long before the bound.
  for (let attempt = 0; added.length < count && attempt < count * 10 + 10; attempt++) {
    const index = estate.allocateIndex();
    estate.changes.markAdded(index, shiftMs, wallClockMs);
    const host = estate.host(index);
    if (host.assetId !== undefined && estate.detections(host).some(isOpen)) added.push(index);
    else estate.changes.markAbsent(index);
  }
  return added;
}

/**
 * Gives `count` QIDs that open detections use one more CVE, alternating between QIDs that had none
 * (so a detection dropped for lack of a CVE becomes a finding) and QIDs that had some, as available.
 * Configuration checks are left alone: real ones never get a CVE.
 */
function gainCves(estate: Estate, count: number, wallClockMs: number): number[] {
  if (count <= 0 || estate.size === 0) return [];
  const r = new Random(estate.seed, CVE_STREAM, estate.generation);
  const kb = estate.knowledgeBase;
  const wantWithout = Math.ceil(count / 2);
  const wantWith = count - wantWithout;
  const withoutCve: number[] = [];
  const withCve: number[] = [];
  const seen = new Set<number>();
  // Walk the hosts from a random one, wrapping around, until both kinds are found (or enough hosts seen).
  const start = r.int(0, estate.indexCount - 1);
  let looked = 0;
  for (let step = 0; step < estate.indexCount && looked < CVE_CANDIDATE_HOSTS; step++) {
    const index = (start + step) % estate.indexCount;
    if (!estate.isPresent(index)) continue;
    looked++;
    for (const d of estate.detections(estate.host(index))) {
      if (!isOpen(d) || seen.has(d.qid)) continue;
      seen.add(d.qid);
      const entry = kb.get(d.qid);
      if (entry === undefined || !mayCarryCve(entry)) continue;
      (entry.cves.length > 0 ? withCve : withoutCve).push(d.qid);
    }
    if (withoutCve.length >= wantWithout && withCve.length >= wantWith) break;
  }
  const chosen = [...withoutCve.slice(0, wantWithout), ...withCve.slice(0, wantWith)];
  for (const qid of [...withoutCve.slice(wantWithout), ...withCve.slice(wantWith)]) {
    if (chosen.length >= count) break;
    chosen.push(qid);
  }
  const year = new Date(estateNowMs(estate.generation)).getUTCFullYear();
  for (const qid of chosen) kb.addCve(qid, `CVE-${year}-${r.int(GAINED_CVE_FROM, 99_999)}`, wallClockMs);
  return chosen.sort((a, b) => a - b);
}

/**
 * Moves the estate one generation on. `wallClockMs` (default: now) stamps the hosts' lastProcessedAt and
 * the LAST_SERVICE_MODIFICATION of QIDs that gained a CVE; nothing else depends on it.
 */
export function advanceEstate(estate: Estate, options: AdvanceOptions = {}, wallClockMs: number = estate.now()): AdvanceSummary {
  const settings = withDefaults(parseAdvanceOptions(options));
  estate.changes.generation += 1;
  const generation = estate.generation;
  const present = [...estate.presentIndexes()];
  const before = present.length;
  const draw = new Draw(present, new Random(estate.seed, SELECT_STREAM, generation));

  const removed: number[] = [];
  for (let n = shareCount(settings.removedShare, before); n > 0; n--) {
    const index = draw.next();
    if (index === undefined) break;
    removed.push(index);
    estate.changes.markAbsent(index);
  }
  const tally: Tally = { fixed: 0, found: 0, reopened: 0 };
  const changed = changeHosts(estate, draw, shareCount(settings.changedShare, before), wallClockMs, tally);
  const added = addHosts(estate, shareCount(settings.addedShare, before), wallClockMs);
  const qids = gainCves(estate, settings.qidsGainingCve, wallClockMs);

  const hostIds = (indexes: number[]): string[] => indexes.sort((a, b) => a - b).map((index) => String(estate.hostId(index)));
  return {
    generation,
    added: hostIds(added),
    removed: hostIds(removed),
    changed: hostIds(changed),
    ...tally,
    qidsGainingCve: qids.map(String),
  };
}
