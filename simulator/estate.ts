/**
 * The simulated estate: hosts, their detections and the KnowledgeBase, all derived lazily from
 * (seed, size). Nothing per host is stored, so 100 000 hosts cost almost no memory; the ground truth
 * is computed from the same functions that render the responses, so it is exactly what is served.
 */
import { formatQualysDateTime } from './dates';
import { type EstateDetection, generateDetections } from './detections';
import { HostIdSpace } from './host-ids';
import { type EstateHost, generateHost, hasHostAssetAt, lastVmScanText, trackingMethodAt, type TrackingMethod } from './hosts';
import { KnowledgeBase } from './knowledge-base';
import type { GroundTruth, TruthDetection, TruthHost, TruthKnowledgeBaseEntry } from './types';

export interface EstateOptions {
  /** Number of hosts; default 200. */
  hosts?: number;
  /** Default 1. */
  seed?: number;
  /** Average detections per host; default 8. */
  detectionsPerHost?: number;
}

export const DEFAULT_ESTATE_HOSTS = 200;
export const DEFAULT_SEED = 1;
export const DEFAULT_DETECTIONS_PER_HOST = 8;

export class Estate {
  readonly size: number;
  readonly seed: number;
  readonly detectionsPerHost: number;
  readonly ids: HostIdSpace;
  readonly knowledgeBase: KnowledgeBase;

  constructor(options: EstateOptions = {}) {
    this.size = Math.max(0, Math.floor(options.hosts ?? DEFAULT_ESTATE_HOSTS));
    this.seed = Math.floor(options.seed ?? DEFAULT_SEED);
    this.detectionsPerHost = Math.max(0, options.detectionsPerHost ?? DEFAULT_DETECTIONS_PER_HOST);
    this.ids = new HostIdSpace(this.seed, this.size);
    this.knowledgeBase = new KnowledgeBase(this.seed);
  }

  hostId(index: number): number {
    return this.ids.hostId(index);
  }

  host(index: number): EstateHost {
    return generateHost(this.seed, index, this.ids.hostId(index), this.ids.assetId(index));
  }

  detections(host: EstateHost): EstateDetection[] {
    return generateDetections(this.seed, host, this.knowledgeBase, this.detectionsPerHost);
  }

  /** Cheap checks used to skip hosts without generating them. */
  hasHostAsset(index: number): boolean {
    return hasHostAssetAt(this.seed, index);
  }

  trackingMethod(index: number): TrackingMethod {
    return trackingMethodAt(this.seed, index);
  }

  /** Every host in ID order, generated one at a time. */
  *hosts(): Generator<EstateHost> {
    for (let index = 0; index < this.size; index++) yield this.host(index);
  }

  truthHost(index: number): TruthHost {
    return toTruthHost(this.host(index), this);
  }

  truth(): GroundTruth {
    const hosts: TruthHost[] = [];
    for (const host of this.hosts()) hosts.push(toTruthHost(host, this));
    const knowledgeBase: Record<string, TruthKnowledgeBaseEntry> = {};
    for (const entry of this.knowledgeBase.entries) {
      knowledgeBase[String(entry.qid)] = { cves: [...entry.cves], severity: entry.severity, title: entry.title };
    }
    return { hosts, knowledgeBase };
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
  });
}

function toTruthHost(host: EstateHost, estate: Estate): TruthHost {
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
    interfaces: host.interfaces.map((i) =>
      withoutUndefined({ name: i.name, mac: i.mac, address: i.address, gateway: i.gateway }),
    ),
    detections: estate.detections(host).map(toTruthDetection),
  });
}

/** The ground truth of an estate, computed without a server (for tests and benchmarks). Pure. */
export function generateEstate(options: EstateOptions = {}): GroundTruth {
  return new Estate(options).truth();
}
