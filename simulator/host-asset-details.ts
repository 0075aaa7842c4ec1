/**
 * The realistic profile's HostAsset record beyond identity and interfaces, per kind of asset, from
 * (seed, host index) on a stream of its own. Fields as J1 typed them from hostasset.xsd and as the
 * resmoio/resources Qualys host-asset schema lists them (reference §6.1): tags/list/TagSimple,
 * agentInfo (agentVersion, agentId, status, lastCheckedIn, connectedFrom, chirpStatus, platform,
 * activatedModule, manifestVersion, agentConfiguration, activationKey), openPort/list/HostAssetOpenPort
 * (port, protocol, serviceId, serviceName), software/list/HostAssetSoftware (name, version), processor,
 * volume, manufacturer, model, totalMemory, timezone, biosDescription, lastSystemBoot, lastLoggedOnUser.
 *
 * - Agents: agentInfo, a "Cloud Agent" tag, hundreds of software entries for some (a long tail).
 * - Scanner-found hosts: open ports, a few services as software, no agentInfo.
 * - Cloud instances: whatever the scan found plus the connector's sourceInfo (written by host-asset-xml.ts).
 */
import type { EstateHost } from './hosts';
import { Random } from './random';
import { ASSET_DISPLAY_NAMES, LOGGED_ON_USERS, TAG_NAMES } from './text-samples';

export interface HostAssetDetails {
  /** A name someone gave the asset in the UI, replacing the discovered one. */
  displayName?: string;
  tags: Array<{ id: number; name: string }>;
  agent?: {
    version: string;
    status: string;
    lastCheckedInMs: number;
    chirpStatus: string;
    platform: string;
    configuration: { id: number; name: string };
    activationKey: { id: string; title: string };
    manifests: { vm: string; pc: string };
  };
  software: Array<{ name: string; version: string }>;
  openPorts: Array<{ port: number; protocol: 'TCP' | 'UDP'; serviceId: number; serviceName: string }>;
  hardware?: { manufacturer: string; model: string; totalMemoryMb: number; bios: string; timezone: string; bootMs: number; cpu: string; cpuMhz: number };
  volumes: Array<{ name: string; size: number; free: number }>;
  lastLoggedOnUser?: string;
}

const DETAILS_STREAM = 0xa55e7de7;
const TAG_ID_BASE = 7_500_000;

const WINDOWS_SOFTWARE: ReadonlyArray<readonly [string, string]> = [
  ['Microsoft Edge', '120.0.2210.91'], ['Google Chrome', '120.0.6099.130'], ['Mozilla Firefox (x64 fr)', '121.0'],
  ['7-Zip 23.01 (x64)', '23.01'], ['Microsoft Office Professionnel Plus 2019 - fr-fr', '16.0.10405.20015'],
  ['Notepad++ (64-bit x64)', '8.6'], ['Zoom Workplace', '6.0.2'], ['VMware Tools', '12.3.5.22544099'],
  ['Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130', '14.38.33130.0'],
  ['Adobe Acrobat (64-bit)', '23.008.20458'], ['搜狗输入法 14.0正式版', '14.0.0.9143'], ['WinRAR 6.24 (64 bits)', '6.24.0'],
  ['Microsoft Teams (work or school)', '23335.232.2637.4844'], ['Java 8 Update 391 (64-bit)', '8.0.3910.13'],
  ['Logiciel Comptabilité Édition Entreprise', '2024.1'], ['CrowdStrike Windows Sensor', '7.05.17706.0'],
];
const LINUX_PACKAGES = [
  'openssl', 'libssl3', 'libc6', 'curl', 'libcurl4', 'python3.10', 'bash', 'coreutils', 'systemd', 'openssh-server',
  'vim', 'sudo', 'tzdata', 'ca-certificates', 'libxml2', 'zlib1g', 'gnupg', 'apt', 'dpkg', 'perl-base', 'libkrb5-3',
  'git', 'nginx', 'docker-ce', 'containerd.io', 'rsyslog', 'cron', 'locales', 'libpam0g', 'libsystemd0',
];
const SERVICES: ReadonlyArray<readonly [number, 'TCP' | 'UDP', string]> = [
  [22, 'TCP', 'ssh'], [80, 'TCP', 'http'], [443, 'TCP', 'http over ssl'], [445, 'TCP', 'microsoft-ds'],
  [3389, 'TCP', 'ms-wbt-server'], [135, 'TCP', 'msrpc'], [139, 'TCP', 'netbios-ssn'], [161, 'UDP', 'snmp'],
  [123, 'UDP', 'ntp'], [5432, 'TCP', 'postgresql'], [3306, 'TCP', 'mysql'], [8080, 'TCP', 'http-alt'],
  [25, 'TCP', 'smtp'], [5985, 'TCP', 'wsman'], [9100, 'TCP', 'jetdirect'],
];
const HARDWARE: ReadonlyArray<readonly [string, string]> = [
  ['VMware, Inc.', 'VMware7,1'], ['Dell Inc.', 'PowerEdge R740'], ['LENOVO', 'ThinkPad T14 Gen 3'],
  ['HP', 'ProLiant DL380 Gen10'], ['Microsoft Corporation', 'Virtual Machine'],
];
const AGENT_PROFILES = ['Initial Profile', 'Profil par défaut – Europe', 'Serveurs critiques', 'ワークステーション標準'];

const runsWindows = (host: EstateHost): boolean => host.os?.includes('Windows') === true;

/** How many software entries an agent reports: most a few dozen, some hundreds (a long tail). */
function softwareCount(r: Random, windows: boolean): number {
  const base = windows ? r.int(10, 40) : r.int(25, 90);
  return r.chance(0.08) ? base * r.int(2, 5) : base;
}

function agentSoftware(r: Random, windows: boolean): Array<{ name: string; version: string }> {
  const count = softwareCount(r, windows);
  const list: Array<{ name: string; version: string }> = [];
  for (let n = 0; n < count; n++) {
    if (windows) {
      const [name, version] = WINDOWS_SOFTWARE[n % WINDOWS_SOFTWARE.length] ?? ['', ''];
      list.push({ name: n < WINDOWS_SOFTWARE.length ? name : `${name} (${Math.floor(n / WINDOWS_SOFTWARE.length)})`, version });
    } else {
      const base = LINUX_PACKAGES[n % LINUX_PACKAGES.length] ?? 'pkg';
      const name = n < LINUX_PACKAGES.length ? base : `${base}-module-${n}`;
      list.push({ name, version: `${r.int(0, 9)}.${r.int(0, 40)}.${r.int(0, 99)}-${r.int(1, 9)}ubuntu${r.int(0, 5)}` });
    }
  }
  return list;
}

/** The realistic details of host `host`'s HostAsset. Pure: same (seed, host) ⇒ same details. */
export function hostAssetDetails(seed: number, host: EstateHost): HostAssetDetails {
  const r = new Random(seed, DETAILS_STREAM, host.index);
  const agent = host.trackingMethod === 'AGENT';
  const windows = runsWindows(host);
  const cloudOnly = host.cloud !== undefined && host.trackingMethod === 'EC2';
  const tags: HostAssetDetails['tags'] = [];
  if (agent) tags.push({ id: TAG_ID_BASE, name: 'Cloud Agent' });
  if (host.cloud) tags.push({ id: TAG_ID_BASE + 1, name: host.cloud.provider });
  for (let n = r.int(0, 3); n > 0; n--) {
    const k = r.int(0, TAG_NAMES.length - 1);
    const name = TAG_NAMES[k] ?? '';
    if (!tags.some((t) => t.name === name)) tags.push({ id: TAG_ID_BASE + 10 + k, name });
  }
  const openPorts = cloudOnly
    ? []
    : Array.from({ length: r.int(1, 8) }, () => r.pick(SERVICES))
        .filter((s, i, all) => all.findIndex((o) => o[0] === s[0]) === i)
        .sort((a, b) => a[0] - b[0])
        .map(([port, protocol, serviceName]) => ({ port, protocol, serviceId: 1000 + port, serviceName }));
  const details: HostAssetDetails = {
    displayName: !host.cloud && r.chance(0.1) ? `${r.pick(ASSET_DISPLAY_NAMES)}-${host.index + 1}` : undefined,
    tags,
    software: agent ? agentSoftware(r, windows) : openPorts.slice(0, 3).map((p) => ({ name: p.serviceName, version: '' })).filter(() => r.chance(0.5)),
    openPorts,
    volumes: [],
  };
  if (agent) {
    const scanMs = host.lastVmScanMs ?? host.createdMs;
    details.agent = {
      version: r.pick(['6.1.0.28', '5.9.0.21', '4.8.0.31', '6.2.5.4']),
      status: r.chance(0.92) ? 'STATUS_ACTIVE' : 'STATUS_INACTIVE',
      lastCheckedInMs: scanMs + r.int(0, 7200) * 1000,
      chirpStatus: r.pick(['Inventory Scan Complete', 'Vulnerability Scan Complete', 'Manifest Downloaded']),
      platform: windows ? 'Windows' : 'Linux',
      configuration: { id: 8000 + r.int(0, AGENT_PROFILES.length - 1), name: r.pick(AGENT_PROFILES) },
      activationKey: { id: `${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`, title: r.pick(['Clé d’activation – Siège', 'Default', '本社サーバー']) },
      manifests: { vm: `VULNSIGS-VM-2.6.${r.int(1, 99)}.2-2`, pc: `VULNSIGS-PC-2.6.${r.int(1, 99)}.0-1` },
    };
    details.lastLoggedOnUser = windows ? r.pick(LOGGED_ON_USERS) : r.pick(['root', 'ec2-user', 'ubuntu']);
    details.volumes = windows
      ? [{ name: 'C:', size: 126_000_000_000, free: r.int(10, 90) * 1_000_000_000 }]
      : [{ name: '/', size: 53_000_000_000, free: r.int(5, 40) * 1_000_000_000 }, { name: '/boot', size: 1_000_000_000, free: 600_000_000 }];
  }
  if (!cloudOnly) {
    const [manufacturer, model] = r.pick(HARDWARE);
    details.hardware = {
      manufacturer,
      model,
      totalMemoryMb: r.pick([4096, 8192, 16384, 32768, 65536]),
      bios: `${manufacturer} ${r.int(1, 9)}.${r.int(0, 30)}.${r.int(0, 9)}, ${r.int(1, 28)}/${r.int(1, 12)}/20${r.int(15, 24)}`,
      timezone: r.pick(['+01:00', '+02:00', '+09:00', '-05:00', '+00:00']),
      bootMs: (host.lastVmScanMs ?? host.createdMs) - r.int(1, 90) * 86_400_000,
      cpu: r.pick(['Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz', 'AMD EPYC 7763 64-Core Processor', 'Intel(R) Core(TM) i7-1265U']),
      cpuMhz: r.pick([2400, 2994, 3000, 1800]),
    };
  }
  return details;
}
