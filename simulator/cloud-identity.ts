/**
 * Cloud identity of realistic-profile hosts: which provider runs the instance and what its cloud
 * connector reports about it. Cloud-connector assets carry their MAC address only in the QPS HostAsset
 * `sourceInfo` (Ec2AssetSourceSimple / AzureAssetSourceSimple / GcpAssetSourceSimple `macAddress`),
 * never in `networkInterface` (reference §6.1; J1 fixtures ec2-, azure- and gcp-host-assets.xml).
 *
 * EC2-tracked hosts are AWS instances. A share of IP-scanned hosts are Azure or GCP virtual machines
 * that their connector discovered: scanned by IP, enriched by the connector (assumption: real
 * subscriptions mix both; the Host List TRACKING_METHOD stays IP).
 */
import type { TrackingMethod } from './hosts';
import { hashInts, Random } from './random';

export type CloudProvider = 'AWS' | 'Azure' | 'GCP';

export interface CloudIdentity {
  provider: CloudProvider;
  /** As each connector formats it: AWS and GCP lower-case with colons, Azure upper-case with dashes (J1 fixtures). */
  macAddress: string;
  /** EC2 instance ID, Azure vmId (a UUID) or GCP numeric instance ID; Host List CLOUD_RESOURCE_ID. */
  instanceId: string;
  /** AWS region, Azure location or GCP zone. */
  region: string;
  /** AWS account, Azure subscription or GCP project. */
  account: string;
  instanceType: string;
  imageId: string;
  publicIp?: string;
}

const CLOUD_STREAM = 0xc10d;
const PLACEMENT_STREAM = 0xc10e;

const AZURE_LOCATIONS = ['westeurope', 'francecentral', 'germanywestcentral', 'japaneast', 'eastus2'];
const GCP_ZONES = ['europe-west1-b', 'europe-west3-a', 'asia-northeast1-a', 'us-central1-a'];
const AWS_TYPES = ['t3.medium', 'm5.large', 'c6i.xlarge', 'r6g.2xlarge', 't2.micro'];
const AZURE_SIZES = ['Standard_B2s', 'Standard_D4s_v5', 'Standard_E8s_v5', 'Standard_B1ms'];
const GCP_TYPES = ['e2-standard-4', 'n2-standard-8', 'e2-medium', 'c2-standard-4'];

function macBytes(r: Random, count: number): string[] {
  return Array.from({ length: count }, () => r.int(0, 255).toString(16).padStart(2, '0'));
}

function uuid(r: Random): string {
  return `${r.hex(8)}-${r.hex(4)}-4${r.hex(3)}-a${r.hex(3)}-${r.hex(12)}`;
}

/** Which provider (if any) runs host `index`; undefined for hosts outside any cloud. Pure. */
export function cloudProviderAt(seed: number, index: number, trackingMethod: TrackingMethod, hasIpv4: boolean): CloudProvider | undefined {
  if (trackingMethod === 'EC2') return 'AWS';
  if (trackingMethod !== 'IP' || !hasIpv4) return undefined;
  const roll = hashInts(seed, PLACEMENT_STREAM, index) % 100;
  if (roll < 11) return 'Azure';
  if (roll < 18) return 'GCP';
  return undefined;
}

/** The identity a cloud connector reports for host `index`. `ec2InstanceId` is the host's own for AWS. */
export function cloudIdentityFor(seed: number, index: number, provider: CloudProvider, ec2InstanceId: string | undefined, awsRegion: string): CloudIdentity {
  const r = new Random(seed, CLOUD_STREAM, index);
  const publicIp = r.chance(0.3) ? `${r.pick([20, 34, 51, 52])}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}` : undefined;
  switch (provider) {
    case 'AWS':
      return {
        provider,
        // ENI MACs are locally administered addresses (first octet 02, 06, 0a, 0e …).
        macAddress: [r.pick(['02', '06', '0a', '0e']), ...macBytes(r, 5)].join(':'),
        instanceId: ec2InstanceId ?? `i-0${r.hex(16)}`,
        region: awsRegion,
        account: String(r.int(100_000_000_000, 999_999_999_999)),
        instanceType: r.pick(AWS_TYPES),
        imageId: `ami-0${r.hex(16)}`,
        publicIp,
      };
    case 'Azure':
      return {
        provider,
        // Azure's OUI 00:0D:3A, printed upper-case with dashes as in J1's azure-host-assets.xml.
        macAddress: ['00', '0D', '3A', ...macBytes(r, 3).map((b) => b.toUpperCase())].join('-'),
        instanceId: uuid(r),
        region: r.pick(AZURE_LOCATIONS),
        account: uuid(r),
        instanceType: r.pick(AZURE_SIZES),
        imageId: r.pick(['Canonical:0001-com-ubuntu-server-jammy:22_04-lts', 'MicrosoftWindowsServer:WindowsServer:2022-datacenter']),
        publicIp,
      };
    case 'GCP':
      return {
        provider,
        // GCE MACs start 42:01 (as in J1's gcp-host-assets.xml).
        macAddress: ['42', '01', ...macBytes(r, 4)].join(':'),
        instanceId: String(r.int(1_000_000_000, 9_999_999_999)) + String(r.int(100_000_000, 999_999_999)),
        region: r.pick(GCP_ZONES),
        account: `projet-${r.pick(['donnees', 'prod', 'analytics', 'securite'])}-${r.int(100, 999)}`,
        instanceType: r.pick(GCP_TYPES),
        imageId: `projects/debian-cloud/global/images/debian-12-bookworm-v2024${r.int(1000, 1231)}`,
        publicIp,
      };
  }
}
