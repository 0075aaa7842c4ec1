/**
 * Host List API: `/api/2.0/fo/asset/host/?action=list`.
 * `details=None` answers an `ID_SET` (ID and ID_RANGE); `Basic`/`All` answer `HOST_LIST/HOST`.
 */
import type { ApiV2Context } from './context';
import { formatQualysDateTime } from './dates';
import type { EstateHost } from './hosts';
import { nextPageUrl, selectedHostIndexes, takePage, writeTruncationWarning } from './paging';
import {
  booleanFlag,
  oneOf,
  optionalIdList,
  optionalNonNegativeInt,
  rejectUnknownParams,
  requireListAction,
} from './params';
import { type ApiReply, XML_CONTENT_TYPE } from './responses';
import { XmlWriter } from './xml';

export const HOST_LIST_PATH = '/api/2.0/fo/asset/host/';

/**
 * Parameter names Host List accepts (reference §4). Only action, details, ids, id_min, id_max,
 * truncation_limit, show_asset_id and show_trurisk change the output; the others are accepted and
 * ignored (assumption: enough for a connector; they never cause a 1901).
 */
const KNOWN_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'show_asset_id', 'details', 'os_pattern', 'truncation_limit', 'ips', 'ipv6',
  'ag_ids', 'ag_titles', 'ids', 'id_min', 'id_max', 'network_ids', 'compliance_enabled', 'no_vm_scan_since',
  'no_compliance_scan_since', 'vm_scan_since', 'compliance_scan_since', 'vm_processed_before', 'vm_processed_after',
  'vm_scan_date_before', 'vm_scan_date_after', 'vm_auth_scan_date_before', 'vm_auth_scan_date_after',
  'scap_scan_since', 'no_scap_scan_since', 'use_tags', 'show_tags', 'tag_set_by', 'tag_include_selector',
  'tag_exclude_selector', 'tag_set_include', 'tag_set_exclude', 'show_ars', 'ars_min', 'ars_max', 'show_ars_factors',
  'show_trurisk', 'trurisk_min', 'trurisk_max', 'show_trurisk_factors', 'host_metadata', 'host_metadata_fields',
  'show_cloud_tags', 'cloud_tag_fields', 'os_hostname',
]);

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

/** CLOUD_* elements for cloud-connector (EC2) hosts. */
export function writeCloudElements(xml: XmlWriter, host: EstateHost): void {
  if (host.ec2InstanceId === undefined) return;
  xml.text('CLOUD_PROVIDER', 'AWS');
  xml.text('CLOUD_SERVICE', 'VM');
  xml.text('CLOUD_RESOURCE_ID', host.ec2InstanceId);
  xml.text('EC2_INSTANCE_ID', host.ec2InstanceId);
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
  rejectUnknownParams(params, KNOWN_PARAMS);
  requireListAction(params);
  const details = oneOf(params, 'details', DETAILS, 'Basic');
  const limit = optionalNonNegativeInt(params, 'truncation_limit') ?? ctx.defaultTruncationLimit;
  const selection = {
    ids: optionalIdList(params, 'ids'),
    idMin: optionalNonNegativeInt(params, 'id_min'),
    idMax: optionalNonNegativeInt(params, 'id_max'),
  };
  const options: HostListOptions = {
    all: details.startsWith('All'),
    showAssetId: booleanFlag(params, 'show_asset_id'),
    showTrurisk: booleanFlag(params, 'show_trurisk'),
  };
  booleanFlag(params, 'echo_request'); // validated, not rendered

  const xml = new XmlWriter({
    doctype: { root: 'HOST_LIST_OUTPUT', systemUrl: `${ctx.baseUrl}/api/2.0/fo/asset/host/dtd/list/output.dtd` },
  });
  xml.start('HOST_LIST_OUTPUT').start('RESPONSE');
  xml.text('DATETIME', formatQualysDateTime(Date.now()));
  const indexes = selectedHostIndexes(estate, selection);
  const hostId = (index: number): number => estate.hostId(index);
  let nextIdMin: number | undefined;
  if (details === 'None') {
    const page = takePage(indexes, hostId, limit, hostId);
    if (page.items.length > 0) writeIdSet(xml, page.items);
    nextIdMin = page.nextIdMin;
  } else {
    const page = takePage(indexes, (index) => estate.host(index), limit, hostId);
    if (page.items.length > 0) {
      xml.start('HOST_LIST');
      for (const host of page.items) writeHost(xml, host, options);
      xml.end();
    }
    nextIdMin = page.nextIdMin;
  }
  if (nextIdMin !== undefined) writeTruncationWarning(xml, limit, nextPageUrl(ctx.baseUrl, HOST_LIST_PATH, params, nextIdMin));
  xml.end().end();
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
