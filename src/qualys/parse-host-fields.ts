import { z } from 'zod';
import { compact } from './compact';
import type { QualysHost } from './schemas';
import { integer, node, optionalId, requiredId, text } from './xml-values';

/** The host elements Host List and Host List Detection share (reference §3.3, §4). */
export const hostElementShape = {
  ID: requiredId,
  ASSET_ID: optionalId,
  IP: text,
  IPV6: text,
  TRACKING_METHOD: text,
  NETWORK_ID: text,
  DNS: text,
  DNS_DATA: node({ HOSTNAME: text, DOMAIN: text, FQDN: text }),
  NETBIOS: text,
  OS: text,
  QG_HOSTID: text,
  ASSET_CRITICALITY_SCORE: integer({ min: 1, max: 5 }),
  TRURISK_SCORE: integer({ min: 0, max: 1000 }),
  LAST_SCAN_DATETIME: text,
  LAST_VULN_SCAN_DATETIME: text,
  LAST_VM_SCANNED_DATE: text,
  LAST_VM_AUTH_SCANNED_DATE: text,
  CLOUD_PROVIDER: text,
  CLOUD_SERVICE: text,
  CLOUD_RESOURCE_ID: text,
  EC2_INSTANCE_ID: text,
};

const hostElementSchema = z.object(hostElementShape);
type HostElement = z.output<typeof hostElementSchema>;

export function toQualysHost(host: HostElement): QualysHost {
  const dnsData = host.DNS_DATA
    ? compact({ hostname: host.DNS_DATA.HOSTNAME, domain: host.DNS_DATA.DOMAIN, fqdn: host.DNS_DATA.FQDN })
    : undefined;
  return compact({
    id: host.ID,
    assetId: host.ASSET_ID,
    ip: host.IP,
    ipv6: host.IPV6,
    trackingMethod: host.TRACKING_METHOD,
    networkId: host.NETWORK_ID,
    dns: host.DNS,
    dnsData: dnsData && Object.keys(dnsData).length > 0 ? dnsData : undefined,
    netbios: host.NETBIOS,
    os: host.OS,
    qgHostId: host.QG_HOSTID,
    assetCriticalityScore: host.ASSET_CRITICALITY_SCORE,
    truriskScore: host.TRURISK_SCORE,
    lastScan: host.LAST_SCAN_DATETIME,
    lastVulnScan: host.LAST_VULN_SCAN_DATETIME,
    lastVmScannedDate: host.LAST_VM_SCANNED_DATE,
    lastVmAuthScannedDate: host.LAST_VM_AUTH_SCANNED_DATE,
    cloudProvider: host.CLOUD_PROVIDER,
    cloudService: host.CLOUD_SERVICE,
    cloudResourceId: host.CLOUD_RESOURCE_ID,
    ec2InstanceId: host.EC2_INSTANCE_ID,
  });
}
