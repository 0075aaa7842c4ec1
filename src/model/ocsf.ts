import { isIP } from 'node:net';
import type { Asset, Finding, FindingEvidence } from './exposure';

/**
 * The exposure model as OCSF (Open Cybersecurity Schema Framework) 1.8.0 events, no profiles:
 * a finding as a Vulnerability Finding (class 2002), an asset as a Device Inventory Info (class 5001).
 * What OCSF has no attribute for (the Qualys evidence, criticality, lifecycle) is kept under
 * `unmapped.qualys`, so nothing the store knows is lost in the translation.
 */
export const OCSF_VERSION = '1.8.0';

const PRODUCT = { name: 'Qualys VMDR', vendor_name: 'Qualys' } as const;

/** OCSF severity_id by Qualys severity (1 Minimal … 5 Urgent), and their captions. */
const SEVERITY: Record<number, { id: number; caption: string; qualys: string }> = {
  1: { id: 1, caption: 'Informational', qualys: 'Minimal' },
  2: { id: 2, caption: 'Low', qualys: 'Medium' },
  3: { id: 3, caption: 'Medium', qualys: 'Serious' },
  4: { id: 4, caption: 'High', qualys: 'Critical' },
  5: { id: 5, caption: 'Critical', qualys: 'Urgent' },
};

/** Vulnerability Finding activities. */
export const FINDING_ACTIVITY = { create: { id: 1, name: 'Create' }, update: { id: 2, name: 'Update' }, close: { id: 3, name: 'Close' } } as const;

interface OcsfMetadata {
  version: string;
  product: typeof PRODUCT;
  log_provider: string;
}

interface OcsfNetworkInterface {
  name?: string;
  ip?: string;
  mac?: string;
}

export interface OcsfDevice {
  uid: string;
  uid_alt: string;
  name?: string;
  hostname?: string;
  ip?: string;
  mac?: string;
  type_id: 0;
  type: 'Unknown';
  os?: { name: string; type_id: number };
  network_interfaces: OcsfNetworkInterface[];
  risk_score?: number;
  first_seen_time: number;
  last_seen_time: number;
}

interface OcsfEventBase {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  time: number;
  severity_id: number;
  severity: string;
  status_id: number;
  status: string;
  status_detail?: string;
  message: string;
  metadata: OcsfMetadata;
  device: OcsfDevice;
  unmapped: { qualys: Record<string, unknown> };
}

export interface OcsfVulnerabilityFinding extends OcsfEventBase {
  class_uid: 2002;
  confidence_id?: number;
  confidence?: string;
  finding_info: {
    uid: string;
    title: string;
    types: string[];
    data_sources: string[];
    first_seen_time?: number;
    last_seen_time: number;
    modified_time?: number;
  };
  vulnerabilities: Array<{
    cve: { uid: string };
    title: string;
    vendor_name: 'Qualys';
    severity?: string;
    first_seen_time?: number;
    last_seen_time?: number;
    related_vulnerabilities: string[];
  }>;
  start_time?: number;
  end_time?: number;
}

export interface OcsfDeviceInventoryInfo extends OcsfEventBase {
  class_uid: 5001;
}

const MAC_48 = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;

/** Epoch milliseconds (OCSF timestamp_t) of an ISO time of the model, or undefined without one. */
function millis(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function requiredMillis(iso: string, field: string, key: string): number {
  const ms = millis(iso);
  if (ms === undefined) throw new TypeError(`${key}: ${field} "${iso}" is not a date-time, so it has no OCSF timestamp`);
  return ms;
}

/** OCSF os.type_id from the operating system Qualys names (Unknown when it is none of the families OCSF lists). */
function osTypeId(os: string): number {
  if (/windows/i.test(os)) return 100;
  if (/android/i.test(os)) return 201;
  if (/linux|ubuntu|debian|red ?hat|centos|suse|fedora|rocky|alma|oracle enterprise|amazon/i.test(os)) return 200;
  if (/mac ?os|os x|darwin/i.test(os)) return 300;
  if (/ipados/i.test(os)) return 302;
  if (/\bios\b/i.test(os)) return 301;
  if (/solaris|sunos/i.test(os)) return 400;
  if (/\baix\b/i.test(os)) return 401;
  if (/hp-?ux/i.test(os)) return 402;
  return 0;
}

/** OCSF keeps only a valid address or MAC in its typed fields; anything else stays in `unmapped`. */
const validIp = (ip: string | undefined): string | undefined => (ip !== undefined && isIP(ip) !== 0 ? ip : undefined);
const validMac = (mac: string | undefined): string | undefined => (mac !== undefined && MAC_48.test(mac) ? mac : undefined);

export function ocsfDevice(asset: Asset): OcsfDevice {
  const networkInterfaces = asset.networkInterfaces
    .map((i) => ({ name: i.name, ip: validIp(i.address), mac: validMac(i.macAddress) }))
    .filter((i) => i.name !== undefined || i.ip !== undefined || i.mac !== undefined);
  return {
    uid: asset.key,
    uid_alt: asset.qualysHostId,
    name: asset.hostname ?? asset.netbiosName ?? asset.fqdn,
    hostname: asset.fqdn ?? asset.hostname ?? asset.netbiosName,
    ip: [...asset.ipv4Addresses, ...asset.ipv6Addresses].map(validIp).find((ip) => ip !== undefined),
    mac: asset.macAddresses.map(validMac).find((mac) => mac !== undefined),
    type_id: 0,
    type: 'Unknown',
    os: asset.operatingSystem ? { name: asset.operatingSystem, type_id: osTypeId(asset.operatingSystem) } : undefined,
    network_interfaces: networkInterfaces,
    risk_score: asset.criticality.truRiskScore,
    first_seen_time: requiredMillis(asset.firstSeenAt, 'firstSeenAt', asset.key),
    last_seen_time: requiredMillis(asset.lastSeenAt, 'lastSeenAt', asset.key),
  };
}

/** What the device object cannot carry: Qualys' own identifiers, criticality, lifecycle and every address. */
function unmappedAsset(asset: Asset): Record<string, unknown> {
  return {
    connection: asset.connection,
    hostId: asset.qualysHostId,
    assetId: asset.qualysAssetId,
    status: asset.status,
    removedAt: asset.removedAt,
    netbiosName: asset.netbiosName,
    ipv4Addresses: asset.ipv4Addresses,
    ipv6Addresses: asset.ipv6Addresses,
    macAddresses: asset.macAddresses,
    gatewayAddresses: asset.gatewayAddresses,
    networkInterfaces: asset.networkInterfaces,
    criticality: asset.criticality,
    trackingMethod: asset.trackingMethod,
    lastScans: asset.lastScans,
  };
}

const metadata: OcsfMetadata = { version: OCSF_VERSION, product: PRODUCT, log_provider: 'qualys-exposure-connector' };

/** An asset's current state as a Device Inventory Info event (activity Collect). */
export function assetToOcsf(asset: Asset): OcsfDeviceInventoryInfo {
  const device = ocsfDevice(asset);
  const time = millis(asset.removedAt) ?? device.last_seen_time;
  return {
    class_uid: 5001,
    class_name: 'Device Inventory Info',
    category_uid: 5,
    category_name: 'Discovery',
    activity_id: 2,
    activity_name: 'Collect',
    type_uid: 500102,
    type_name: 'Device Inventory Info: Collect',
    time,
    severity_id: 1,
    severity: 'Informational',
    status_id: 1,
    status: 'Success',
    status_detail: asset.status === 'removed' ? `removed: absent from a complete Qualys run since ${asset.removedAt ?? 'an earlier run'}` : 'active',
    message: `Qualys host ${asset.qualysHostId} (${device.name ?? device.ip ?? asset.key}) is ${asset.status}`,
    metadata,
    device,
    unmapped: { qualys: unmappedAsset(asset) },
  };
}

/** OCSF confidence of a finding: Qualys' Confirmed detections are high, Potential ones low. */
function confidence(evidence: FindingEvidence[]): { confidence_id: number; confidence: string } | undefined {
  if (evidence.some((e) => e.type === 'Confirmed')) return { confidence_id: 3, confidence: 'High' };
  if (evidence.some((e) => e.type === 'Potential')) return { confidence_id: 1, confidence: 'Low' };
  return undefined;
}

/**
 * A finding's current state as a Vulnerability Finding event, with its asset as the device. The
 * activity follows the finding's lifecycle: open and never closed → Create; open again after being
 * closed → Update; fixed → Close.
 */
export function findingToOcsf(finding: Finding, asset: Asset, activity = findingActivity(finding)): OcsfVulnerabilityFinding {
  const device = ocsfDevice(asset);
  const severity = finding.severity !== undefined ? SEVERITY[finding.severity] : undefined;
  const evidence = finding.evidence.length > 0 ? finding.evidence : (finding.lastReportedEvidence ?? []);
  const lastSeen = requiredMillis(finding.lastSeenAt, 'lastSeenAt', finding.key);
  const closedAt = millis(finding.closedAt);
  const open = finding.status === 'open';
  return {
    class_uid: 2002,
    class_name: 'Vulnerability Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: 200200 + activity.id,
    type_name: `Vulnerability Finding: ${activity.name}`,
    time: open ? lastSeen : (closedAt ?? lastSeen),
    severity_id: severity?.id ?? 0,
    severity: severity?.caption ?? 'Unknown',
    status_id: open ? 1 : 4,
    status: open ? 'New' : 'Resolved',
    status_detail: open ? `open: Qualys reports it ${[...new Set(evidence.map((e) => e.status))].join(', ')}` : `fixed: ${finding.closedReason ?? 'closed'}`,
    ...confidence(evidence),
    message: `${finding.cve} on ${device.name ?? device.ip ?? asset.key}: ${open ? 'open' : `fixed (${finding.closedReason ?? 'closed'})`}`,
    metadata,
    finding_info: {
      uid: finding.key,
      title: `${finding.cve} on ${device.name ?? device.ip ?? asset.key}`,
      types: ['Vulnerability'],
      data_sources: ['Qualys VMDR Host List Detection', 'Qualys KnowledgeBase'],
      first_seen_time: millis(finding.firstSeenAt),
      last_seen_time: lastSeen,
      modified_time: millis(finding.closedAt ?? finding.reopenedAt),
    },
    vulnerabilities: [
      {
        cve: { uid: finding.cve },
        title: finding.cve,
        vendor_name: 'Qualys',
        severity: severity?.qualys,
        first_seen_time: millis(finding.firstFound),
        last_seen_time: millis(finding.lastFound),
        related_vulnerabilities: [...new Set(evidence.map((e) => `Qualys QID ${e.qid}`))],
      },
    ],
    start_time: millis(finding.firstFound),
    end_time: open ? undefined : closedAt,
    device,
    unmapped: {
      qualys: {
        connection: finding.connection,
        hostId: finding.qualysHostId,
        assetKey: finding.assetKey,
        status: finding.status,
        closedReason: finding.closedReason,
        closedAt: finding.closedAt,
        reopenedAt: finding.reopenedAt,
        severity: finding.severity,
        qds: finding.qds,
        evidence: finding.evidence,
        lastReportedEvidence: finding.lastReportedEvidence,
      },
    },
  };
}

export function findingActivity(finding: Finding): (typeof FINDING_ACTIVITY)[keyof typeof FINDING_ACTIVITY] {
  if (finding.status === 'fixed') return FINDING_ACTIVITY.close;
  return finding.reopenedAt !== undefined ? FINDING_ACTIVITY.update : FINDING_ACTIVITY.create;
}
