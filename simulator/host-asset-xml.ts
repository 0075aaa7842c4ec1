/**
 * One QPS `HostAsset` element. The minimal profile writes identity and interfaces; the realistic one
 * the whole record in the order real responses use (J1 fixtures list-, ec2-, azure- and
 * gcp-host-assets.xml): id, name, created, modified, type, tags, sourceInfo, qwebHostId, lastVulnScan,
 * lastSystemBoot, lastLoggedOnUser, dnsHostName, fqdn, os, agentInfo, netbiosName, address,
 * trackingMethod, manufacturer, model, totalMemory, timezone, biosDescription, openPort, software,
 * vuln, processor, volume, account, networkInterface, isDockerHost. Collections are `<x><list>…</list></x>`
 * and empty ones `<list/>`, as recorded.
 *
 * sourceInfo lists the cloud connector's record — Ec2AssetSourceSimple (type EC_2, as J1's code
 * tests it), AzureAssetSourceSimple (type AZURE), GcpAssetSourceSimple (type GCP) — with the instance's
 * `macAddress`, then an empty `<AssetSource/>` as every recorded sourceInfo ends.
 */
import type { CloudIdentity } from './cloud-identity';
import { formatQualysDateTime } from './dates';
import { hostAssetDetails } from './host-asset-details';
import type { EstateHost, TrackingMethod } from './hosts';
import type { ContentProfile } from './profile';
import { XmlWriter } from './xml';

/** QPS `trackingMethod` values for each Host List TRACKING_METHOD. */
export const QPS_TRACKING: Record<TrackingMethod, string> = {
  IP: 'IP',
  DNS: 'DNSNAME',
  NETBIOS: 'NETBIOS',
  AGENT: 'QAGENT',
  EC2: 'INSTANCE_ID',
};

const time = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatQualysDateTime(ms));

function writeCloudTags(xml: XmlWriter, wrapper: string, item: string, tags: ReadonlyArray<readonly [string, string]>): void {
  xml.start(wrapper).start('tags').start('list');
  for (const [key, value] of tags) xml.start(item).text('key', key).text('value', value).end();
  xml.end().end().end();
}

function writeSource(xml: XmlWriter, host: EstateHost, cloud: CloudIdentity): void {
  const discovered = time(host.createdMs);
  const updated = time(host.lastVmScanMs ?? host.createdMs);
  const name = host.dnsHostname ?? `vm-${host.index + 1}`;
  switch (cloud.provider) {
    case 'AWS':
      xml.start('Ec2AssetSourceSimple');
      xml.text('assetId', host.assetId).text('type', 'EC_2').text('firstDiscovered', discovered).text('lastUpdated', updated);
      writeCloudTags(xml, 'ec2InstanceTags', 'EC2Tags', [['Name', name], ['Owner', 'Équipe Données'], ['Projet', '東京移行']]);
      xml.text('availabilityZone', `${cloud.region}a`).text('instanceId', cloud.instanceId).text('instanceType', cloud.instanceType);
      xml.text('instanceState', 'RUNNING').text('groupName', 'default').text('spotInstance', 'false').text('accountId', cloud.account);
      xml.text('macAddress', cloud.macAddress).text('region', cloud.region).text('zone', 'VPC').text('imageId', cloud.imageId);
      xml.text('publicIpAddress', cloud.publicIp).text('privateIpAddress', host.ip);
      xml.text('privateDnsName', host.fqdn).text('monitoringEnabled', 'false');
      xml.end();
      return;
    case 'Azure':
      xml.start('AzureAssetSourceSimple');
      xml.text('assetId', host.assetId).text('type', 'AZURE').text('firstDiscovered', discovered).text('lastUpdated', updated);
      writeCloudTags(xml, 'azureVmTags', 'AzureTags', [['Owner', 'Jürgen Müller'], ['Umgebung', 'Produktion']]);
      xml.text('name', name).text('location', cloud.region).text('vmSize', cloud.instanceType).text('vmId', cloud.instanceId);
      xml.text('state', 'RUNNING').text('osType', host.os?.includes('Windows') ? 'Windows' : 'Linux').text('subnet', 'default');
      xml.text('subscriptionId', cloud.account).text('resourceGroupName', 'rg-données-prod');
      xml.text('macAddress', cloud.macAddress).text('privateIpAddress', host.ip).text('publicIpAddress', cloud.publicIp);
      xml.end();
      return;
    case 'GCP':
      xml.start('GcpAssetSourceSimple');
      xml.text('assetId', host.assetId).text('type', 'GCP').text('firstDiscovered', discovered).text('lastUpdated', updated);
      xml.text('instanceId', cloud.instanceId).text('hostname', `${name}.c.${cloud.account}.internal`).text('machineType', cloud.instanceType);
      xml.text('imageId', cloud.imageId).text('zone', cloud.region).text('state', 'RUNNING').text('projectId', cloud.account);
      xml.text('network', 'default').text('macAddress', cloud.macAddress).text('publicIpAddress', cloud.publicIp).text('privateIpAddress', host.ip);
      xml.end();
  }
}

function writeInterfaces(xml: XmlWriter, host: EstateHost): void {
  xml.start('networkInterface').start('list');
  for (const nic of host.interfaces) {
    xml.start('HostAssetInterface');
    xml.text('interfaceName', nic.name);
    xml.text('macAddress', nic.mac);
    xml.text('type', nic.type);
    xml.text('address', nic.address);
    xml.text('gatewayAddress', nic.gateway);
    xml.text('hostname', nic.hostname);
    xml.text('interfaceId', nic.interfaceId);
    xml.end();
  }
  xml.end().end();
}

function defaultName(host: EstateHost): string | undefined {
  return host.fqdn ?? host.dnsHostname ?? host.netbios ?? host.ip ?? host.ipv6;
}

function writeMinimal(xml: XmlWriter, host: EstateHost): void {
  xml.start('HostAsset');
  xml.text('id', host.assetId);
  xml.text('name', defaultName(host));
  xml.text('created', time(host.createdMs));
  xml.text('modified', time(host.lastVmScanMs ?? host.createdMs));
  xml.text('type', 'HOST');
  xml.text('qwebHostId', host.id);
  xml.text('lastVulnScan', time(host.lastVmScanMs));
  xml.text('os', host.os);
  xml.text('dnsHostName', host.fqdn ?? host.dnsHostname);
  xml.text('fqdn', host.fqdn);
  xml.text('address', host.ip ?? host.ipv6);
  xml.text('trackingMethod', QPS_TRACKING[host.trackingMethod]);
  xml.text('netbiosName', host.netbios);
  if (host.interfaces.length > 0) writeInterfaces(xml, host);
  xml.end();
}

function writeRealistic(xml: XmlWriter, host: EstateHost, seed: number): void {
  const details = hostAssetDetails(seed, host);
  const emptyList = (name: string): void => {
    xml.start(name).empty('list').end();
  };
  xml.start('HostAsset');
  xml.text('id', host.assetId);
  xml.text('name', details.displayName ?? defaultName(host));
  xml.text('created', time(host.createdMs));
  xml.text('modified', time(host.lastVmScanMs ?? host.createdMs));
  xml.text('type', 'HOST');
  if (details.tags.length === 0) emptyList('tags');
  else {
    xml.start('tags').start('list');
    for (const tag of details.tags) xml.start('TagSimple').text('id', tag.id).text('name', tag.name).end();
    xml.end().end();
  }
  xml.start('sourceInfo').start('list');
  if (host.cloud) writeSource(xml, host, host.cloud);
  xml.empty('AssetSource');
  xml.end().end();
  xml.text('qwebHostId', host.id);
  xml.text('lastVulnScan', time(host.lastVmScanMs));
  xml.text('lastSystemBoot', time(details.hardware?.bootMs));
  xml.text('lastLoggedOnUser', details.lastLoggedOnUser);
  xml.text('dnsHostName', host.fqdn ?? host.dnsHostname);
  xml.text('fqdn', host.fqdn);
  xml.text('os', host.os);
  const agent = details.agent;
  if (agent) {
    xml.start('agentInfo');
    xml.text('agentVersion', agent.version).text('agentId', host.qgHostId).text('status', agent.status);
    xml.text('lastCheckedIn', time(agent.lastCheckedInMs)).text('connectedFrom', host.ip ?? host.ipv6);
    xml.text('chirpStatus', agent.chirpStatus).text('platform', agent.platform).text('activatedModule', 'AGENT_VM,AGENT_PC');
    xml.start('manifestVersion').text('vm', agent.manifests.vm).text('pc', agent.manifests.pc).end();
    xml.start('agentConfiguration').text('id', agent.configuration.id).text('name', agent.configuration.name).end();
    xml.start('activationKey').text('activationId', agent.activationKey.id).text('title', agent.activationKey.title).end();
    xml.end();
  }
  xml.text('netbiosName', host.netbios);
  xml.text('address', host.ip ?? host.ipv6);
  xml.text('trackingMethod', QPS_TRACKING[host.trackingMethod]);
  const hardware = details.hardware;
  if (hardware) {
    xml.text('manufacturer', hardware.manufacturer).text('model', hardware.model).text('totalMemory', hardware.totalMemoryMb);
    xml.text('timezone', hardware.timezone).text('biosDescription', hardware.bios);
  }
  xml.start('openPort').start('list');
  for (const port of details.openPorts) {
    xml.start('HostAssetOpenPort').text('port', port.port).text('protocol', port.protocol);
    xml.text('serviceId', port.serviceId).text('serviceName', port.serviceName).end();
  }
  xml.end().end();
  xml.start('software').start('list');
  for (const software of details.software) {
    xml.start('HostAssetSoftware').text('name', software.name).text('version', software.version || undefined).end();
  }
  xml.end().end();
  emptyList('vuln');
  xml.start('processor').start('list');
  if (hardware) xml.start('HostAssetProcessor').text('name', hardware.cpu).text('speed', hardware.cpuMhz).end();
  xml.end().end();
  xml.start('volume').start('list');
  for (const volume of details.volumes) {
    xml.start('HostAssetVolume').text('name', volume.name).text('size', volume.size).text('free', volume.free).end();
  }
  xml.end().end();
  emptyList('account');
  if (host.interfaces.length > 0) writeInterfaces(xml, host);
  else emptyList('networkInterface');
  xml.text('isDockerHost', 'false');
  xml.end();
}

/** Writes `host` (which has a HostAsset) as the profile shapes it. */
export function writeHostAsset(xml: XmlWriter, host: EstateHost, profile: ContentProfile, seed: number): void {
  if (profile === 'realistic') writeRealistic(xml, host, seed);
  else writeMinimal(xml, host);
}
