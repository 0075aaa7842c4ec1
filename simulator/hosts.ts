/**
 * One simulated host, generated from (seed, index) alone: addresses, names, OS, tracking method,
 * criticality, scan times and its QPS HostAsset interfaces. The realistic profile adds a cloud
 * identity and localized OS captions on top, from streams of their own, so both profiles share the
 * same estate.
 */
import { type CloudIdentity, cloudIdentityFor, cloudProviderAt } from './cloud-identity';
import { DAY_MS, ESTATE_NOW_MS, formatQualysDateTime } from './dates';
import type { ContentProfile } from './profile';
import { hashInts, Random } from './random';
import { LOCALIZED_WINDOWS_OS } from './text-samples';

/** Host List / HLD `TRACKING_METHOD` values (reference §3.3). */
export type TrackingMethod = 'IP' | 'DNS' | 'NETBIOS' | 'AGENT' | 'EC2';

export interface HostInterface {
  name?: string;
  mac?: string;
  address?: string;
  gateway?: string;
  hostname?: string;
  /** QPS `type` (cloud interfaces only). */
  type?: 'PRIVATE' | 'PUBLIC';
  /** EC2 ENI id (cloud interfaces only). */
  interfaceId?: string;
}

export interface EstateHost {
  index: number;
  id: number;
  /** Undefined when the host has no QPS HostAsset record. */
  assetId?: number;
  ip?: string;
  ipv6?: string;
  trackingMethod: TrackingMethod;
  dnsHostname?: string;
  domain?: string;
  fqdn?: string;
  netbios?: string;
  os?: string;
  /** Agent UUID for agent-tracked hosts. */
  qgHostId?: string;
  ec2InstanceId?: string;
  assetCriticalityScore?: number;
  truriskScore?: number;
  /** Epoch ms of the last VM scan; undefined for never-scanned hosts (which have no detections). */
  lastVmScanMs?: number;
  lastVmScanDurationSec?: number;
  createdMs: number;
  interfaces: HostInterface[];
  /** Realistic profile: the cloud provider's view of the instance (its MAC only there). */
  cloud?: CloudIdentity;
}

const KIND_STREAM = 0x4b1d;
const ASSET_PRESENCE_STREAM = 0xa55e;
const HOST_STREAM = 0x4057;
const LOCALE_STREAM = 0x10ca1e;

/** Cheap: the tracking method alone, without generating the rest of the host. */
export function trackingMethodAt(seed: number, index: number): TrackingMethod {
  const roll = hashInts(seed, KIND_STREAM, index) % 100;
  if (roll < 42) return 'IP';
  if (roll < 74) return 'AGENT';
  if (roll < 82) return 'DNS';
  if (roll < 86) return 'NETBIOS';
  return 'EC2';
}

/** Cheap: whether the host has a QPS HostAsset record. Agents always do; ~3% of the others do not. */
export function hasHostAssetAt(seed: number, index: number): boolean {
  if (trackingMethodAt(seed, index) === 'AGENT') return true;
  return hashInts(seed, ASSET_PRESENCE_STREAM, index) % 100 >= 3;
}

const WINDOWS_OS = [
  'Windows Server 2019 Datacenter 64 bit Edition Version 1809',
  'Windows Server 2022 Standard 64 bit Edition Version 21H2',
  'Windows Server 2016 Standard 64 bit Edition Version 1607',
  'Windows 10 Enterprise 64 bit Edition Version 22H2',
  'Windows 11 Enterprise 64 bit Edition Version 23H2',
];
const LINUX_OS = [
  'Ubuntu 22.04.4 LTS',
  'Ubuntu 20.04.6 LTS',
  'Red Hat Enterprise Linux 8.9',
  'Red Hat Enterprise Linux 9.3',
  'CentOS Linux 7.9.2009',
  'Debian GNU/Linux 12',
];
const CLOUD_OS = ['Amazon Linux 2', 'Amazon Linux 2023', 'Ubuntu 22.04.4 LTS', 'Windows Server 2019 Datacenter 64 bit Edition Version 1809'];
const DEVICE_OS = ['Cisco IOS 15.2', 'VMware ESXi 7.0.3', 'Linux 2.6', 'HP LaserJet Printer', 'FortiOS 7.0'];
const ROLES = ['web', 'app', 'db', 'dc', 'mail', 'fs', 'k8s-node', 'jump', 'ci', 'print', 'vpn', 'lb', 'wks', 'laptop'];
const DOMAINS = ['corp.example.com', 'dmz.example.com', 'lab.example.net', 'eu.example.com'];
const REGIONS = ['eu-west-1', 'us-east-1', 'eu-central-1'];
/** Real OUI prefixes (VMware, Hyper-V, Dell, HP) so MACs look like real hardware. */
const MAC_PREFIXES = ['00:50:56', '00:15:5D', 'F4:8E:38', '3C:D9:2B'];

function isWindows(os: string | undefined): boolean {
  return os !== undefined && os.startsWith('Windows');
}

function mac(r: Random): string {
  const bytes = [r.int(0, 255), r.int(0, 255), r.int(0, 255)].map((b) => b.toString(16).padStart(2, '0').toUpperCase());
  return `${r.pick(MAC_PREFIXES)}:${bytes.join(':')}`;
}

/** Unique per index: 10.x.y.z on premises, 172.16–31.y.z in the cloud. */
function ipv4For(index: number, cloud: boolean): { ip: string; gateway: string } {
  const host = 1 + (index % 250);
  const subnet = Math.floor(index / 250) % 250;
  const block = Math.floor(index / 62_500);
  if (cloud) {
    const second = 16 + (block % 16);
    return { ip: `172.${second}.${subnet}.${host}`, gateway: `172.${second}.${subnet}.1` };
  }
  const second = 1 + (block % 250);
  return { ip: `10.${second}.${subnet}.${host}`, gateway: `10.${second}.${subnet}.254` };
}

function ipv6For(index: number, r: Random): string {
  return `2001:db8:${(index >>> 16).toString(16)}:${(index & 0xffff).toString(16)}::${r.hex(3).replace(/^0+/, '') || '1'}`;
}

function chooseOs(r: Random, method: TrackingMethod): string | undefined {
  switch (method) {
    case 'EC2':
      return r.pick(CLOUD_OS);
    case 'NETBIOS':
      return r.pick(WINDOWS_OS);
    case 'AGENT':
      return r.chance(0.55) ? r.pick(WINDOWS_OS) : r.pick(LINUX_OS);
    case 'IP':
    case 'DNS':
      if (r.chance(0.06)) return undefined; // OS fingerprinting failed
      return r.pick(r.weighted<readonly string[]>([[WINDOWS_OS, 45], [LINUX_OS, 40], [DEVICE_OS, 15]]));
  }
}

function interfacesFor(r: Random, host: EstateHost, gateway: string | undefined): HostInterface[] {
  if (host.trackingMethod === 'EC2') {
    // Cloud-connector assets carry type + address + hostname + ENI id, and no MAC (reference §6.1).
    const list: HostInterface[] = [
      { type: 'PRIVATE', address: host.ip, hostname: host.dnsHostname, interfaceId: `eni-${r.hex(17)}` },
    ];
    if (r.chance(0.3)) list.push({ type: 'PUBLIC', address: `54.${r.int(64, 255)}.${r.int(0, 255)}.${r.int(1, 254)}` });
    return list;
  }
  const windows = isWindows(host.os);
  const primaryName = windows ? r.pick(['Intel(R) 82574L Gigabit Network Connection', 'vmxnet3 Ethernet Adapter']) : r.pick(['eth0', 'ens192']);
  const primaryMac = mac(r);
  const list: HostInterface[] = [];
  if (host.ip !== undefined) {
    list.push({ name: primaryName, mac: primaryMac, address: host.ip, gateway, hostname: host.dnsHostname ?? host.netbios });
  }
  if (host.ipv6 !== undefined) {
    list.push({ name: primaryName, mac: primaryMac, address: host.ipv6, hostname: host.dnsHostname ?? host.netbios });
  }
  if (r.chance(0.15)) {
    list.push({ name: windows ? 'Ethernet 2' : 'eth1', mac: mac(r), address: `192.168.${r.int(0, 255)}.${r.int(1, 254)}` });
  }
  return list;
}

/** Generates host `index` of an estate. Pure: same (seed, index, id, assetId, profile) ⇒ same host. */
export function generateHost(seed: number, index: number, id: number, assetId: number, profile: ContentProfile = 'minimal'): EstateHost {
  const r = new Random(seed, HOST_STREAM, index);
  const trackingMethod = trackingMethodAt(seed, index);
  const cloud = trackingMethod === 'EC2';
  const v4 = ipv4For(index, cloud);

  // Address family: most IPv4 only, some dual-stack, a few IPv6-only (agents and IP-scanned hosts).
  const family = r.weighted([['v4', 82], ['dual', 15], ['v6', 3]] as const);
  const v6Only = family === 'v6' && (trackingMethod === 'AGENT' || trackingMethod === 'IP');
  const ip = v6Only ? undefined : v4.ip;
  const ipv6 = family !== 'v4' ? ipv6For(index, r) : undefined;

  const os = chooseOs(r, trackingMethod);
  const role = r.pick(ROLES);
  const shortName = `${role}-${(index + 1).toString().padStart(5, '0')}`;
  let dnsHostname: string | undefined;
  let domain: string | undefined;
  if (cloud) {
    const region = r.pick(REGIONS);
    dnsHostname = `ip-${v4.ip.replace(/\./g, '-')}`;
    domain = `${region}.compute.internal`;
  } else if (trackingMethod === 'DNS' || trackingMethod === 'AGENT' || r.chance(0.85)) {
    dnsHostname = shortName;
    domain = r.pick(DOMAINS);
  }
  const fqdn = dnsHostname !== undefined && domain !== undefined ? `${dnsHostname}.${domain}` : undefined;
  const netbios = isWindows(os) || trackingMethod === 'NETBIOS' ? shortName.toUpperCase().slice(0, 15) : undefined;

  const scanned = trackingMethod === 'AGENT' || r.chance(0.96);
  const lastVmScanMs = scanned ? ESTATE_NOW_MS - r.int(0, 30 * 86_400) * 1000 : undefined;
  const host: EstateHost = {
    index,
    id,
    assetId: hasHostAssetAt(seed, index) ? assetId : undefined,
    ip,
    ipv6,
    trackingMethod,
    dnsHostname,
    domain,
    fqdn,
    netbios,
    os,
    qgHostId: trackingMethod === 'AGENT' ? `${r.hex(8)}-${r.hex(4)}-4${r.hex(3)}-a${r.hex(3)}-${r.hex(12)}` : undefined,
    ec2InstanceId: cloud ? `i-0${r.hex(16)}` : undefined,
    assetCriticalityScore: r.chance(0.9) ? r.weighted([[1, 10], [2, 30], [3, 35], [4, 17], [5, 8]] as const) : undefined,
    truriskScore: r.chance(0.85) ? r.int(0, 1000) : undefined,
    lastVmScanMs,
    lastVmScanDurationSec: scanned ? r.int(40, 3600) : undefined,
    createdMs: ESTATE_NOW_MS - r.int(31, 1100) * DAY_MS - r.int(0, 86_399) * 1000,
    interfaces: [],
  };
  if (host.assetId !== undefined) host.interfaces = interfacesFor(r, host, v6Only ? undefined : v4.gateway);
  if (profile === 'realistic') addRealisticIdentity(seed, host, domain);
  return host;
}

/**
 * The realistic profile's additions, drawn from streams of their own: a cloud identity for AWS, Azure
 * and GCP instances (whose QPS interfaces then carry no MAC, as cloud-connector assets' do), and the
 * localized Windows caption a Cloud Agent reports for a share of agent hosts.
 */
function addRealisticIdentity(seed: number, host: EstateHost, domain: string | undefined): void {
  const provider = cloudProviderAt(seed, host.index, host.trackingMethod, host.ip !== undefined);
  if (provider !== undefined) {
    const awsRegion = domain?.replace(/\.compute\.internal$/, '') ?? 'eu-west-1';
    host.cloud = cloudIdentityFor(seed, host.index, provider, host.ec2InstanceId, awsRegion);
    if (provider !== 'AWS' && host.interfaces.length > 0) {
      host.interfaces = [{ type: 'PRIVATE', address: host.ip, hostname: host.dnsHostname }];
    }
  }
  if (host.trackingMethod === 'AGENT' && isWindows(host.os)) {
    const r = new Random(seed, LOCALE_STREAM, host.index);
    if (r.chance(0.3)) host.os = r.pick(LOCALIZED_WINDOWS_OS);
  }
}

export function lastVmScanText(host: EstateHost): string | undefined {
  return host.lastVmScanMs === undefined ? undefined : formatQualysDateTime(host.lastVmScanMs);
}
