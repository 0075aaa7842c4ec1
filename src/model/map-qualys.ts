import {
  MODEL_VERSION,
  assetKey,
  findingKey,
  type Asset,
  type Finding,
  type FindingEvidence,
  type NetworkInterface,
} from './exposure';
import type { EveryField } from '../contracts/records';
import type { Detection, HostAsset, HostAssetCloudSource, QualysHost } from '../qualys/schemas';

// The mapping reads the client's records as their zod schemas (src/qualys/schemas.ts) type them: the
// records staged from Qualys' answers and read back through the same schemas. No narrower copy of them
// here, so a field added there is at hand here.

export interface QidCves {
  cves: string[];
  /** The KnowledgeBase does not know this QID at all. */
  unknown?: boolean;
}

const OPEN_STATUSES = new Set(['New', 'Active', 'Re-Opened']);

export function mapAsset(connection: string, host: QualysHost, hostAsset: HostAsset | undefined, seenAt: string): Asset {
  const interfaces: NetworkInterface[] = (hostAsset?.interfaces ?? []).map((i) => ({
    name: i.interfaceName,
    macAddress: normaliseMac(i.macAddress),
    address: i.address,
    gatewayAddress: i.gatewayAddress,
  }));
  const cloudMacs = withCloudMacs(interfaces, hostAsset?.cloudSources ?? []);
  const addresses = [host.ip, host.ipv6, ...interfaces.map((i) => i.address)].filter(isPresent);
  return {
    modelVersion: MODEL_VERSION,
    key: assetKey(connection, host.id),
    connection,
    source: 'qualys',
    qualysHostId: host.id,
    qualysAssetId: host.assetId,
    fqdn: host.dnsData?.fqdn || hostAsset?.fqdn || undefined,
    hostname: host.dnsData?.hostname || host.dns || undefined,
    netbiosName: host.netbios,
    ipv4Addresses: unique(addresses.filter((a) => !a.includes(':'))),
    ipv6Addresses: unique(addresses.filter((a) => a.includes(':'))),
    networkInterfaces: interfaces,
    macAddresses: unique([...interfaces.map((i) => i.macAddress), ...cloudMacs].filter(isPresent)),
    gatewayAddresses: unique(interfaces.map((i) => i.gatewayAddress).filter(isPresent)),
    operatingSystem: host.os,
    criticality: { assetCriticalityScore: host.assetCriticalityScore, truRiskScore: host.truriskScore },
    trackingMethod: host.trackingMethod,
    lastScans: { vulnerability: host.lastVulnScan, vmScanned: host.lastVmScannedDate },
    status: 'active',
    firstSeenAt: seenAt,
    lastSeenAt: seenAt,
  };
}

export interface MappedFindings {
  findings: Finding[];
  /** Detections whose QID maps to no CVE. */
  droppedNoCve: number;
  /** Detections whose QID the KnowledgeBase does not know. */
  droppedUnknownQid: number;
}

/** One finding per (asset, CVE); a detection whose QID has no CVE is counted as dropped, never lost silently. */
export function mapFindings(
  connection: string,
  hostId: string,
  detections: readonly Detection[],
  knowledgeBase: ReadonlyMap<string, QidCves>,
  seenAt: string,
): MappedFindings {
  const key = assetKey(connection, hostId);
  const byCve = new Map<string, FindingEvidence[]>();
  let droppedNoCve = 0;
  let droppedUnknownQid = 0;
  for (const d of detections) {
    const known = knowledgeBase.get(d.qid);
    const cves = known?.cves ?? [];
    if (cves.length === 0) {
      if (!known || known.unknown) droppedUnknownQid += 1;
      else droppedNoCve += 1;
      continue;
    }
    // Every field of the evidence named: one added to its schema does not compile until it is mapped.
    const evidence: EveryField<FindingEvidence> = {
      qid: d.qid,
      uniqueVulnId: d.uniqueVulnId,
      type: d.type,
      status: d.status ?? 'Active',
      severity: d.severity,
      qds: d.qds,
      port: d.port,
      protocol: d.protocol,
      ssl: d.ssl,
      firstFound: d.firstFound,
      lastFound: d.lastFound,
      lastFixed: d.lastFixed,
    };
    for (const cve of cves) byCve.set(cve, [...(byCve.get(cve) ?? []), evidence]);
  }
  const findings = [...byCve.entries()].map(([cve, evidence]): Finding => ({
    modelVersion: MODEL_VERSION,
    key: findingKey(key, cve),
    assetKey: key,
    connection,
    qualysHostId: hostId,
    cve,
    status: evidence.some((e) => OPEN_STATUSES.has(e.status)) ? 'open' : 'fixed',
    firstFound: min(evidence.map((e) => e.firstFound)),
    lastFound: max(evidence.map((e) => e.lastFound)),
    severity: maxNumber(evidence.map((e) => e.severity)),
    qds: maxNumber(evidence.map((e) => e.qds)),
    evidence: evidence.sort((a, b) => a.qid.localeCompare(b.qid) || (a.port ?? '').localeCompare(b.port ?? '')),
    lastSeenAt: seenAt,
  }));
  return { findings, droppedNoCve, droppedUnknownQid };
}

/**
 * Cloud-connector assets report their interface without a MAC and the MAC in `sourceInfo` (with the
 * private IP it belongs to). Such a MAC goes on the interface holding that address when that interface
 * has none, and always among the asset's MACs. Returns the sources' valid MACs.
 */
function withCloudMacs(interfaces: NetworkInterface[], sources: readonly HostAssetCloudSource[]): string[] {
  const macs: string[] = [];
  for (const source of sources) {
    const mac = normaliseMac(source.macAddress);
    if (mac === undefined) continue;
    macs.push(mac);
    const nic = interfaces.find((i) => i.macAddress === undefined && i.address !== undefined && i.address === source.privateIpAddress);
    if (nic) nic.macAddress = mac;
  }
  return macs;
}

/** MACs arrive as 00:1A:2B…, 00-1a-2b… or 001a.2b…; one form makes them comparable. Invalid ones are dropped. */
export function normaliseMac(mac: string | undefined): string | undefined {
  if (!mac) return undefined;
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (hex.length !== 12 || /^0+$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}

function isPresent<T>(value: T | undefined | null | ''): value is T {
  return value !== undefined && value !== null && value !== '';
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function min(values: Array<string | undefined>): string | undefined {
  return values.filter(isPresent).sort()[0];
}

function max(values: Array<string | undefined>): string | undefined {
  return values.filter(isPresent).sort().at(-1);
}

function maxNumber(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length > 0 ? Math.max(...present) : undefined;
}
