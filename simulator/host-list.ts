/**
 * Host List API: `/api/2.0/fo/asset/host/?action=list`.
 * `details=None` answers an `ID_SET` (ID and ID_RANGE); `Basic`/`All` answer `HOST_LIST/HOST`.
 */
import { CONFIDENTIALITY_BANNER, type ApiV2Context, writeTrailingComments } from './context';
import { formatQualysDateTime } from './dates';
import { HOST_LIST_PARAMS } from './endpoint-params';
import { hostPasses, readHostFilter, selectsEveryHost } from './host-filter';
import type { EstateHost } from './hosts';
import { nextPageUrl, selectedHostIndexes, takePage, writeTruncationWarning } from './paging';
import { checkParams } from './param-rules';
import { booleanFlag, oneOf, optionalIdList, optionalNonNegativeInt, requireListAction } from './params';
import { type ApiReply, LATIN1_XML_CONTENT_TYPE, XML_CONTENT_TYPE } from './responses';
import { XmlWriter } from './xml';

export const HOST_LIST_PATH = '/api/2.0/fo/asset/host/';

const DETAILS = ['None', 'Basic', 'Basic/AGs', 'All', 'All/AGs'] as const;

/** Consecutive IDs collapse into `ID_RANGE` (assumption: from two IDs on), single ones stay `ID`. */
export function writeIdSet(xml: XmlWriter, ids: readonly number[]): void {
  xml.start('ID_SET');
  let i = 0;
  while (i < ids.length) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === (ids[j] ?? 0) + 1) j++;
    if (j > i) xml.text('ID_RANGE', `${ids[i]}-${ids[j]}`);
    else xml.text('ID', ids[i]);
    i = j + 1;
  }
  xml.end();
}

/** DNS, DNS_DATA (HOSTNAME, DOMAIN, FQDN), all CDATA as in real output (reference §3.4). */
export function writeDnsElements(xml: XmlWriter, host: EstateHost): void {
  xml.cdata('DNS', host.fqdn ?? host.dnsHostname);
  if (host.dnsHostname !== undefined || host.fqdn !== undefined) {
    xml.start('DNS_DATA');
    xml.cdata('HOSTNAME', host.dnsHostname);
    xml.cdata('DOMAIN', host.domain);
    xml.cdata('FQDN', host.fqdn);
    xml.end();
  }
}

/**
 * CLOUD_* elements for cloud instances: EC2-tracked hosts, and in the realistic profile the Azure and
 * GCP virtual machines too (assumption: same elements, CLOUD_SERVICE "VM", the instance ID as
 * CLOUD_RESOURCE_ID; EC2_INSTANCE_ID for AWS only).
 */
export function writeCloudElements(xml: XmlWriter, host: EstateHost): void {
  const provider = host.cloud?.provider ?? (host.ec2InstanceId === undefined ? undefined : 'AWS');
  if (provider === undefined) return;
  const resourceId = host.cloud?.instanceId ?? host.ec2InstanceId;
  xml.text('CLOUD_PROVIDER', provider);
  xml.text('CLOUD_SERVICE', 'VM');
  xml.text('CLOUD_RESOURCE_ID', resourceId);
  if (provider === 'AWS') xml.text('EC2_INSTANCE_ID', host.ec2InstanceId);
}

interface HostListOptions {
  all: boolean;
  showAssetId: boolean;
  showTrurisk: boolean;
}

function writeHost(xml: XmlWriter, host: EstateHost, options: HostListOptions): void {
  const lastScan = host.lastVmScanMs === undefined ? undefined : formatQualysDateTime(host.lastVmScanMs);
  xml.start('HOST');
  xml.text('ID', host.id);
  // Assumption (as documented by Qualys): ASSET_ID only with show_asset_id=1.
  if (options.showAssetId) xml.text('ASSET_ID', host.assetId);
  xml.text('IP', host.ip);
  xml.text('IPV6', host.ipv6);
  xml.text('TRACKING_METHOD', host.trackingMethod);
  writeDnsElements(xml, host);
  writeCloudElements(xml, host);
  xml.cdata('NETBIOS', host.netbios);
  xml.cdata('OS', host.os);
  xml.cdata('QG_HOSTID', host.qgHostId);
  if (options.all) xml.text('FIRST_FOUND_DATE', formatQualysDateTime(host.createdMs));
  xml.text('LAST_VULN_SCAN_DATETIME', lastScan);
  xml.text('LAST_VM_SCANNED_DATE', lastScan);
  xml.text('LAST_VM_SCANNED_DURATION', host.lastVmScanDurationSec);
  // Assumption: ASSET_CRITICALITY_SCORE needs no flag; TRURISK_SCORE only with show_trurisk=1.
  xml.text('ASSET_CRITICALITY_SCORE', host.assetCriticalityScore);
  if (options.showTrurisk) xml.text('TRURISK_SCORE', host.truriskScore);
  xml.end();
}

export function handleHostList(ctx: ApiV2Context): ApiReply {
  const { params, estate } = ctx;
  checkParams(params, HOST_LIST_PARAMS);
  requireListAction(params);
  const details = oneOf(params, 'details', DETAILS, 'Basic');
  const limit = optionalNonNegativeInt(params, 'truncation_limit') ?? ctx.defaultTruncationLimit;
  const selection = {
    ids: optionalIdList(params, 'ids'),
    idMin: optionalNonNegativeInt(params, 'id_min'),
    idMax: optionalNonNegativeInt(params, 'id_max'),
  };
  const filter = readHostFilter(params);
  const options: HostListOptions = {
    all: details.startsWith('All'),
    showAssetId: booleanFlag(params, 'show_asset_id'),
    showTrurisk: booleanFlag(params, 'show_trurisk'),
  };

  // The realistic profile answers host details declared ISO-8859-1 (as a transcoding proxy in front of
  // Qualys does): what Latin-1 cannot carry goes out as character references.
  const latin1 = estate.profile === 'realistic' && details !== 'None';
  const xml = new XmlWriter({
    doctype: { root: 'HOST_LIST_OUTPUT', systemUrl: `${ctx.baseUrl}/api/2.0/fo/asset/host/dtd/list/output.dtd` },
    latin1,
  });
  if (estate.profile === 'realistic') xml.comment(CONFIDENTIALITY_BANNER);
  xml.start('HOST_LIST_OUTPUT').start('RESPONSE');
  xml.text('DATETIME', formatQualysDateTime(estate.now()));
  const indexes = selectedHostIndexes(estate, selection);
  const hostId = (index: number): number => estate.hostId(index);
  // Without host filters, ID lists need no host generated: 100 000 IDs stay cheap.
  const selected = (index: number): EstateHost | undefined => {
    if (estate.isOutsideHostList(index)) return undefined;
    const host = estate.host(index);
    return hostPasses(host, estate.processedMs(host), filter) ? host : undefined;
  };
  let nextIdMin: number | undefined;
  if (details === 'None') {
    const everyHost = selectsEveryHost(filter);
    const page = takePage(indexes, (index) => ((everyHost && !estate.isOutsideHostList(index)) || selected(index) ? hostId(index) : undefined), limit, hostId);
    if (page.items.length > 0) writeIdSet(xml, page.items);
    nextIdMin = page.nextIdMin;
  } else {
    const page = takePage(indexes, selected, limit, hostId);
    if (page.items.length > 0) {
      xml.start('HOST_LIST');
      for (const host of page.items) writeHost(xml, host, options);
      xml.end();
    }
    nextIdMin = page.nextIdMin;
  }
  if (nextIdMin !== undefined) writeTruncationWarning(xml, limit, nextPageUrl(ctx.baseUrl, HOST_LIST_PATH, params, nextIdMin));
  xml.end().end();
  writeTrailingComments(xml, 'HOST_LIST_OUTPUT');
  if (latin1) return { status: 200, contentType: LATIN1_XML_CONTENT_TYPE, body: xml.toString(), charset: 'latin1' };
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
