/**
 * The simulated estate: hosts, their detections and the KnowledgeBase, all derived lazily from
 * (seed, size). Nothing per host is stored, so 100 000 hosts cost almost no memory; the ground truth
 * is computed from the same functions that render the responses, so it is exactly what is served.
 * Later generations (see generations.ts) only add small deltas on top (estate-changes.ts).
 */
import { formatQualysDateTime } from './dates';
import { type EstateDetection, generateDetections } from './detections';
import { EstateChanges } from './estate-changes';
import { HostIdSpace } from './host-ids';
import { type EstateHost, generateHost, hasHostAssetAt, lastVmScanText, trackingMethodAt, type TrackingMethod } from './hosts';
import { KnowledgeBase } from './knowledge-base';
import { type ContentProfile, resolveProfile } from './profile';
import type { GroundTruth, TruthDetection, TruthHost, TruthKnowledgeBaseEntry } from './types';

export interface EstateOptions {
  /** Number of hosts; default 200. */
  hosts?: number;
  /** Default 1. */
  seed?: number;
  /** Average detections per host; default 8. */
  detectionsPerHost?: number;
  /** Content profile; default `QUALYS_SIM_PROFILE`, else realistic (see profile.ts). */
  profile?: ContentProfile;
  /** How far Qualys' clock is from this machine's (ms): DATETIME of responses and advance stamps use it. */
  clockOffsetMs?: number;
  /** Host indexes Host List leaves out (a host scoped differently) while Host List Detection still returns them. */
  outsideHostList?: readonly number[];
}

export const DEFAULT_ESTATE_HOSTS = 200;
export const DEFAULT_SEED = 1;
export const DEFAULT_DETECTIONS_PER_HOST = 8;

export class Estate {
  readonly seed: number;
  readonly detectionsPerHost: number;
  readonly profile: ContentProfile;
  readonly knowledgeBase: KnowledgeBase;
  /** What the generations after 0 changed; `advanceEstate` writes it. */
  readonly changes = new EstateChanges();
  private space: HostIdSpace;
  private readonly clockOffsetMs: number;
  private readonly outsideHostList: ReadonlySet<number>;

  constructor(options: EstateOptions = {}) {
    this.clockOffsetMs = options.clockOffsetMs ?? 0;
    this.outsideHostList = new Set(options.outsideHostList ?? []);
    const size = Math.max(0, Math.floor(options.hosts ?? DEFAULT_ESTATE_HOSTS));
    this.seed = Math.floor(options.seed ?? DEFAULT_SEED);
    this.detectionsPerHost = Math.max(0, options.detectionsPerHost ?? DEFAULT_DETECTIONS_PER_HOST);
    this.profile = resolveProfile(options.profile);
    this.space = new HostIdSpace(this.seed, size);
    this.knowledgeBase = new KnowledgeBase(this.seed, this.profile);
  }

  /** Qualys' time now (epoch ms): what the responses' DATETIME say and `advance` stamps by default. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Host and asset IDs of every index allocated so far (removed hosts' indexes included). */
  get ids(): HostIdSpace {
    return this.space;
  }

  /** Host indexes allocated so far: the generated hosts plus those added later; IDs ascend with them. */
  get indexCount(): number {
    return this.space.size;
  }

  /** Number of hosts in the current generation. */
  get size(): number {
    return this.space.size - this.changes.absentCount;
  }

  get generation(): number {
    return this.changes.generation;
  }

  /** A fresh index past every one used so far, so its host ID was never used before. */
  allocateIndex(): number {
    const index = this.space.size;
    // The ID space is a pure function of (seed, index); only its upper bound grows.
    this.space = new HostIdSpace(this.seed, index + 1);
    return index;
  }

  /** Whether host `index` exists in the current generation. */
  isPresent(index: number): boolean {
    return index >= 0 && index < this.space.size && !this.changes.isAbsent(index);
  }

  hostId(index: number): number {
    return this.space.hostId(index);
  }

  host(index: number): EstateHost {
    return this.changes.applyToHost(generateHost(this.seed, index, this.space.hostId(index), this.space.assetId(index), this.profile));
  }

  /**
   * When Qualys processed the host's latest VM scan (what `vm_processed_after/before` compare): the wall
   * clock of the `advance` that added or changed it, else its generated scan time.
   */
  processedMs(host: EstateHost): number | undefined {
    return this.changes.processedAtMs(host.index) ?? host.lastVmScanMs;
  }

  detections(host: EstateHost): EstateDetection[] {
    const generated = generateDetections(
      this.seed,
      host.index,
      this.changes.generatedScanMs(host),
      this.knowledgeBase,
      this.detectionsPerHost,
    );
    return this.changes.applyToDetections(host.index, generated);
  }

  /** Whether Host List leaves host `index` out (Host List Detection still returns it). */
  isOutsideHostList(index: number): boolean {
    return this.outsideHostList.has(index);
  }

  /** Cheap checks used to skip hosts without generating them. */
  hasHostAsset(index: number): boolean {
    return hasHostAssetAt(this.seed, index);
  }

  trackingMethod(index: number): TrackingMethod {
    return trackingMethodAt(this.seed, index);
  }

  /** Indexes of the current generation's hosts, ascending (so host IDs ascend too). */
  *presentIndexes(): Generator<number> {
    for (let index = 0; index < this.space.size; index++) if (this.isPresent(index)) yield index;
  }

  /** Every host of the current generation in ID order, generated one at a time. */
  *hosts(): Generator<EstateHost> {
    for (const index of this.presentIndexes()) yield this.host(index);
  }

  truthHost(index: number): TruthHost {
    return toTruthHost(this.host(index), this);
  }

  truth(): GroundTruth {
    const hosts: TruthHost[] = [];
    for (const host of this.hosts()) hosts.push(toTruthHost(host, this));
    const knowledgeBase: Record<string, TruthKnowledgeBaseEntry> = {};
    for (const entry of this.knowledgeBase.entries) {
      const extras = this.knowledgeBase.extras(entry.qid);
      knowledgeBase[String(entry.qid)] = withoutUndefined<TruthKnowledgeBaseEntry>({
        cves: [...entry.cves],
        severity: entry.severity,
        title: entry.title,
        vendorReferences: extras?.vendorReferences.map((ref) => ref.id),
        bugtraqIds: extras?.bugtraq.map((ref) => ref.id),
      });
    }
    return { generation: this.generation, hosts, knowledgeBase };
  }
}

function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}

function toTruthDetection(d: EstateDetection): TruthDetection {
  return withoutUndefined<TruthDetection>({
    qid: String(d.qid),
    type: d.type,
    status: d.status,
    severity: d.severity,
    port: d.port === undefined ? undefined : String(d.port),
    protocol: d.protocol,
    ssl: d.ssl,
    firstFound: formatQualysDateTime(d.firstFoundMs),
    lastFound: formatQualysDateTime(d.lastFoundMs),
    lastFixed: d.lastFixedMs === undefined ? undefined : formatQualysDateTime(d.lastFixedMs),
    qds: d.qds,
    timesFound: d.timesFound,
    uniqueVulnId: String(d.uniqueVulnId),
    lastUpdate: formatQualysDateTime(d.lastUpdateMs),
    lastProcessed: formatQualysDateTime(d.lastProcessedMs),
  });
}

function toTruthHost(host: EstateHost, estate: Estate): TruthHost {
  const processedAt = estate.changes.processedAtMs(host.index);
  return withoutUndefined<TruthHost>({
    id: String(host.id),
    assetId: host.assetId === undefined ? undefined : String(host.assetId),
    ip: host.ip,
    ipv6: host.ipv6,
    fqdn: host.fqdn,
    dnsHostname: host.dnsHostname,
    netbios: host.netbios,
    os: host.os,
    trackingMethod: host.trackingMethod,
    assetCriticalityScore: host.assetCriticalityScore,
    truriskScore: host.truriskScore,
    lastVmScan: lastVmScanText(host),
    lastProcessedAt: processedAt === undefined ? undefined : formatQualysDateTime(processedAt),
    interfaces: host.interfaces.map((i) =>
      withoutUndefined({ name: i.name, mac: i.mac, address: i.address, gateway: i.gateway }),
    ),
    cloudProvider: host.cloud?.provider,
    cloudMacAddress: host.cloud?.macAddress,
    detections: estate.detections(host).map(toTruthDetection),
  });
}

/** The ground truth of an estate, computed without a server (for tests and benchmarks). Pure. */
export function generateEstate(options: EstateOptions = {}): GroundTruth {
  return new Estate(options).truth();
}
