import { compact } from './compact';
import { endpointInfo } from './endpoints';
import { recordReader } from './parse-document';
import { SERVICE_RESPONSE_ROOT, hostAssetElementSchema, type HostAssetElement, type ServiceResponse } from './parse-service-response';
import type { HostAsset, HostAssetCloudSource, HostAssetInterface } from './schemas';
import { malformed, type XmlContext } from './xml';

export interface HostAssetPage {
  assets: HostAsset[];
  /** The `id` to continue after, when Qualys has more records. */
  nextAfterId?: number;
}

/** One HostAsset of a search, read as soon as its end tag arrives (the streaming path). */
export const hostAssetRecords = recordReader([SERVICE_RESPONSE_ROOT, 'data', 'HostAsset'], hostAssetElementSchema, toHostAsset, 'qwebHostId');

/** A successful `search/am/hostasset` envelope. `count` 0 with no `data` means nothing matched. */
export function hostAssetPage(response: ServiceResponse, context: XmlContext): HostAssetPage {
  const assets = (response.data?.HostAsset ?? []).map(toHostAsset);
  if (response.hasMoreRecords !== 'true') return { assets };
  const lastId = response.lastId === undefined ? NaN : Number(response.lastId);
  if (!Number.isSafeInteger(lastId)) {
    throw malformed(context, `${endpointInfo[context.endpoint].title} said hasMoreRecords=true but gave no usable lastId.`);
  }
  return { assets, nextAfterId: lastId };
}

/** A successful `count/am/hostasset` envelope. */
export function hostAssetCount(response: ServiceResponse, context: XmlContext): number {
  const count = response.count ?? response.COUNT;
  if (count === undefined) {
    throw malformed(context, `${endpointInfo[context.endpoint].title} answered SUCCESS without a count.`);
  }
  return count;
}

type SourceList = NonNullable<NonNullable<HostAssetElement['sourceInfo']>['list']>;

/** The cloud connectors' records, each tagged with its provider; `<AssetSource/>` and the like carry nothing. */
function cloudSources(list: SourceList | undefined): HostAssetCloudSource[] {
  if (list === undefined) return [];
  const tagged = [
    ...list.Ec2AssetSourceSimple.map((source) => ({ provider: 'AWS' as const, source })),
    ...list.AzureAssetSourceSimple.map((source) => ({ provider: 'Azure' as const, source })),
    ...list.GcpAssetSourceSimple.map((source) => ({ provider: 'GCP' as const, source })),
  ];
  return tagged.map(({ provider, source }) =>
    compact<HostAssetCloudSource>({
      provider,
      macAddress: source.macAddress,
      privateIpAddress: source.privateIpAddress,
      instanceId: source.instanceId ?? source.vmId,
    }),
  );
}

function toHostAsset(asset: HostAssetElement): HostAsset {
  const sources = cloudSources(asset.sourceInfo?.list);
  return compact<HostAsset>({
    id: asset.id,
    qwebHostId: asset.qwebHostId,
    name: asset.name,
    dnsHostName: asset.dnsHostName,
    fqdn: asset.fqdn,
    os: asset.os,
    address: asset.address,
    netbiosName: asset.netbiosName,
    trackingMethod: asset.trackingMethod,
    interfaces: (asset.networkInterface?.list?.HostAssetInterface ?? []).map((nic) =>
      compact<HostAssetInterface>({
        interfaceName: nic.interfaceName,
        macAddress: nic.macAddress,
        address: nic.address,
        gatewayAddress: nic.gatewayAddress,
        hostname: nic.hostname,
        type: nic.type,
      }),
    ),
    cloudSources: sources.length > 0 ? sources : undefined,
  });
}
