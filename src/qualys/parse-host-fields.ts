import { z } from 'zod';
import { compact } from './compact';
import type { DnsData, QualysHost } from './schemas';
import { fieldsOf } from './fields';
import { integer, node, optionalId, requiredId, text } from './xml-values';

/**
 * The host elements Host List and Host List Detection share, as their DTDs declare HOST
 * (`/api/2.0/fo/asset/host/vm/detection/dtd/output.dtd`, `/api/2.0/fo/asset/host/dtd/list/output.dtd`):
 * `(ID, ASSET_ID?, IP?, IPV6?, TRACKING_METHOD?, NETWORK_ID?, OS?, OS_CPE?, DNS?, DNS_DATA?, …)`. ID is
 * required; everything else may be absent, and a value of unexpected form in it is dropped and counted.
 * Elements not listed (TAGS, METADATA, OS_CPE, …) are ignored.
 */
export const hostElementShape = {
  ID: requiredId, // DTD: required
  ASSET_ID: optionalId, // DTD: optional (show_asset_id=1)
  ...fieldsOf(text, 'IP', 'IPV6', 'TRACKING_METHOD', 'NETWORK_ID', 'DNS'), // DTD: optional
  DNS_DATA: node(fieldsOf(text, 'HOSTNAME', 'DOMAIN', 'FQDN')), // DTD: optional, each child optional
  ...fieldsOf(text, 'NETBIOS', 'OS'), // DTD: optional
  QG_HOSTID: text, // DTD: optional (agent-tracked hosts)
  ASSET_CRITICALITY_SCORE: integer({ min: 1, max: 5 }), // Host List DTD: optional (show_asset_id/ACS)
  TRURISK_SCORE: integer({ min: 0, max: 1000 }), // Host List DTD: optional (show_trurisk=1)
  // DTD: optional (LAST_VULN_SCAN_DATETIME in Host List's only)
  ...fieldsOf(text, 'LAST_SCAN_DATETIME', 'LAST_VULN_SCAN_DATETIME', 'LAST_VM_SCANNED_DATE', 'LAST_VM_AUTH_SCANNED_DATE'),
  ...fieldsOf(text, 'CLOUD_PROVIDER', 'CLOUD_SERVICE', 'CLOUD_RESOURCE_ID', 'EC2_INSTANCE_ID'), // DTD: optional
};

const hostElementSchema = z.object(hostElementShape);
type HostElement = z.output<typeof hostElementSchema>;

export function toQualysHost(host: HostElement): QualysHost {
  const dnsData = host.DNS_DATA
    ? compact<DnsData>({ hostname: host.DNS_DATA.HOSTNAME, domain: host.DNS_DATA.DOMAIN, fqdn: host.DNS_DATA.FQDN })
    : undefined;
  return compact<QualysHost>({
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
