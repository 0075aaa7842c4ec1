/**
 * Host List Detection API: `/api/2.0/fo/asset/host/vm/detection/?action=list`.
 * Hosts (ascending ID) with their DETECTION_LIST; hosts without a matching detection are omitted, as
 * real HLD does; `truncation_limit` counts hosts.
 */
import { CONFIDENTIALITY_BANNER, type ApiV2Context } from './context';
import { formatQualysDateTime } from './dates';
import { detectionResults, type EstateDetection, qdsSeverity } from './detections';
import { writeCloudElements, writeDnsElements } from './host-list';
import type { EstateHost } from './hosts';
import { nextPageUrl, selectedHostIndexes, takePage, writeTruncationWarning } from './paging';
import {
  BadRequest,
  booleanFlag,
  intervalsContain,
  listOf,
  oneOf,
  optionalDate,
  optionalIdList,
  optionalNonNegativeInt,
  type Params,
  rejectUnknownParams,
  requireListAction,
} from './params';
import { type ApiReply, XML_CONTENT_TYPE } from './responses';
import type { DetectionStatus } from './types';
import { flag, XmlWriter } from './xml';

export const HOST_DETECTION_PATH = '/api/2.0/fo/asset/host/vm/detection/';

/**
 * Parameter names HLD accepts (reference §3.2). Implemented: action, ids, id_min, id_max, status,
 * truncation_limit, show_results, show_qds, show_asset_id, qids, severities, include_vuln_type,
 * vm_processed_after/before, detection_updated_since/before, output_format (XML only). The rest are
 * accepted and ignored (assumption).
 */
const KNOWN_PARAMS: ReadonlySet<string> = new Set([
  'action', 'echo_request', 'show_asset_id', 'show_results', 'include_vuln_type', 'output_format', 'truncation_limit',
  'show_tags', 'show_qds', 'show_qds_factors', 'host_metadata', 'host_metadata_fields', 'show_cloud_tags',
  'cloud_tag_fields', 'arf_kernel_filter', 'arf_service_filter', 'arf_config_filter', 'active_kernels_only',
  'suppress_duplicated_data_from_csv', 'detection_updated_since', 'detection_updated_before',
  'max_days_since_detection_updated', 'detection_processed_before', 'detection_processed_after',
  'detection_last_tested_since', 'detection_last_tested_since_days', 'detection_last_tested_before',
  'detection_last_tested_before_days', 'include_ignored', 'include_disabled', 'status', 'ids', 'id_min', 'id_max',
  'ips', 'ipv6', 'ag_ids', 'ag_titles', 'network_ids', 'network_name', 'vm_scan_since', 'no_vm_scan_since',
  'max_days_since_last_vm_scan', 'vm_processed_before', 'vm_processed_after', 'vm_scan_date_before',
  'vm_scan_date_after', 'vm_auth_scan_date_before', 'vm_auth_scan_date_after', 'compliance_enabled', 'os_pattern',
  'qids', 'severities', 'filter_superseded_qids', 'include_search_list_titles', 'exclude_search_list_titles',
  'include_search_list_ids', 'exclude_search_list_ids', 'use_tags', 'tag_set_by', 'tag_include_selector',
  'tag_exclude_selector', 'tag_set_include', 'tag_set_exclude', 'qds_min', 'qds_max', 'show_igs',
  'vuln_detection_source',
]);

const STATUSES: readonly DetectionStatus[] = ['New', 'Active', 'Fixed', 'Re-Opened'];
/** J1 documents that the default excludes Fixed (reference §3.2). */
const DEFAULT_STATUSES: readonly DetectionStatus[] = ['New', 'Active', 'Re-Opened'];

interface DetectionFilter {
  statuses: ReadonlySet<DetectionStatus>;
  qids?: ReturnType<typeof optionalIdList>;
  severities?: ReturnType<typeof optionalIdList>;
  vulnType?: 'Confirmed' | 'Potential';
  updatedSinceMs?: number;
  updatedBeforeMs?: number;
  processedAfterMs?: number;
  processedBeforeMs?: number;
}

interface DetectionOutput {
  showResults: boolean;
  showQds: boolean;
  showAssetId: boolean;
}

function readFilter(params: Params): DetectionFilter {
  const severities = optionalIdList(params, 'severities');
  if (severities?.some((s) => s.from < 1 || s.to > 5)) {
    throw new BadRequest('1905', `parameter severities has invalid value: ${params.get('severities') ?? ''}`);
  }
  const vulnType = oneOf(params, 'include_vuln_type', ['confirmed', 'potential', 'all'] as const, 'all');
  return {
    statuses: new Set(listOf(params, 'status', STATUSES) ?? DEFAULT_STATUSES),
    qids: optionalIdList(params, 'qids'),
    severities,
    vulnType: vulnType === 'confirmed' ? 'Confirmed' : vulnType === 'potential' ? 'Potential' : undefined,
    updatedSinceMs: optionalDate(params, 'detection_updated_since'),
    updatedBeforeMs: optionalDate(params, 'detection_updated_before'),
    processedAfterMs: optionalDate(params, 'vm_processed_after'),
    processedBeforeMs: optionalDate(params, 'vm_processed_before'),
  };
}

function hostPasses(host: EstateHost, filter: DetectionFilter): boolean {
  if (filter.processedAfterMs === undefined && filter.processedBeforeMs === undefined) return true;
  const scan = host.lastVmScanMs;
  if (scan === undefined) return false;
  return (filter.processedAfterMs === undefined || scan > filter.processedAfterMs)
    && (filter.processedBeforeMs === undefined || scan < filter.processedBeforeMs);
}

function detectionPasses(d: EstateDetection, filter: DetectionFilter): boolean {
  return filter.statuses.has(d.status)
    && (filter.qids === undefined || intervalsContain(filter.qids, d.qid))
    && (filter.severities === undefined || intervalsContain(filter.severities, d.severity))
    && (filter.vulnType === undefined || d.type === filter.vulnType)
    && (filter.updatedSinceMs === undefined || d.lastUpdateMs >= filter.updatedSinceMs)
    && (filter.updatedBeforeMs === undefined || d.lastUpdateMs < filter.updatedBeforeMs);
}

const time = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatQualysDateTime(ms));

function writeDetection(xml: XmlWriter, d: EstateDetection, output: DetectionOutput, ctx: ApiV2Context): void {
  xml.start('DETECTION');
  xml.text('UNIQUE_VULN_ID', d.uniqueVulnId);
  xml.text('QID', d.qid);
  xml.text('TYPE', d.type);
  xml.text('SEVERITY', d.severity);
  xml.text('PORT', d.port);
  xml.text('PROTOCOL', d.protocol);
  xml.text('SSL', flag(d.ssl));
  if (output.showResults) xml.cdata('RESULTS', detectionResults(d, ctx.estate.knowledgeBase.get(d.qid)?.title ?? ''));
  xml.text('STATUS', d.status);
  xml.text('FIRST_FOUND_DATETIME', time(d.firstFoundMs));
  xml.text('LAST_FOUND_DATETIME', time(d.lastFoundMs));
  if (output.showQds && d.qds !== undefined) xml.text('QDS', d.qds, { severity: qdsSeverity(d.qds) });
  xml.text('TIMES_FOUND', d.timesFound);
  xml.text('LAST_TEST_DATETIME', time(d.lastTestMs));
  xml.text('LAST_UPDATE_DATETIME', time(d.lastUpdateMs));
  xml.text('LAST_FIXED_DATETIME', time(d.lastFixedMs));
  xml.text('FIRST_REOPENED_DATETIME', time(d.firstReopenedMs));
  xml.text('LAST_REOPENED_DATETIME', time(d.lastReopenedMs));
  xml.text('TIMES_REOPENED', d.timesReopened);
  xml.text('IS_IGNORED', '0');
  xml.text('IS_DISABLED', '0');
  xml.text('LAST_PROCESSED_DATETIME', time(d.lastProcessedMs));
  xml.end();
}

interface HostWithDetections {
  host: EstateHost;
  detections: EstateDetection[];
}

function writeHost(xml: XmlWriter, item: HostWithDetections, output: DetectionOutput, ctx: ApiV2Context): void {
  const { host } = item;
  xml.start('HOST');
  xml.text('ID', host.id);
  if (output.showAssetId) xml.text('ASSET_ID', host.assetId);
  xml.text('IP', host.ip);
  xml.text('IPV6', host.ipv6);
  xml.text('TRACKING_METHOD', host.trackingMethod);
  xml.cdata('OS', host.os);
  writeDnsElements(xml, host);
  writeCloudElements(xml, host);
  xml.cdata('NETBIOS', host.netbios);
  xml.cdata('QG_HOSTID', host.qgHostId);
  xml.text('LAST_SCAN_DATETIME', time(host.lastVmScanMs));
  xml.text('LAST_VM_SCANNED_DATE', time(host.lastVmScanMs));
  xml.text('LAST_VM_SCANNED_DURATION', host.lastVmScanDurationSec);
  xml.start('DETECTION_LIST');
  for (const detection of item.detections) writeDetection(xml, detection, output, ctx);
  xml.end();
  xml.end();
}

export function handleHostDetection(ctx: ApiV2Context): ApiReply {
  const { params, estate } = ctx;
  rejectUnknownParams(params, KNOWN_PARAMS);
  requireListAction(params);
  // Assumption: only XML is simulated; CSV output formats are refused like an invalid value.
  oneOf(params, 'output_format', ['XML'] as const, 'XML');
  const limit = optionalNonNegativeInt(params, 'truncation_limit') ?? ctx.defaultTruncationLimit;
  const selection = {
    ids: optionalIdList(params, 'ids'),
    idMin: optionalNonNegativeInt(params, 'id_min'),
    idMax: optionalNonNegativeInt(params, 'id_max'),
  };
  const filter = readFilter(params);
  // Assumption: RESULTS only with show_results=1 and QDS only with show_qds=1 (the connector's defaults).
  const output: DetectionOutput = {
    showResults: booleanFlag(params, 'show_results'),
    showQds: booleanFlag(params, 'show_qds'),
    showAssetId: booleanFlag(params, 'show_asset_id'),
  };
  for (const name of ['echo_request', 'show_igs', 'include_ignored', 'include_disabled', 'show_tags']) booleanFlag(params, name);

  const page = takePage<HostWithDetections>(
    selectedHostIndexes(estate, selection),
    (index) => {
      const host = estate.host(index);
      if (!hostPasses(host, filter)) return undefined;
      const detections = estate.detections(host).filter((d) => detectionPasses(d, filter));
      return detections.length > 0 ? { host, detections } : undefined;
    },
    limit,
    (index) => estate.hostId(index),
  );

  const xml = new XmlWriter({
    doctype: {
      root: 'HOST_LIST_VM_DETECTION_OUTPUT',
      systemUrl: `${ctx.baseUrl}/api/2.0/fo/asset/host/vm/detection/host_list_vm_detection_output.dtd`,
    },
  });
  xml.comment(CONFIDENTIALITY_BANNER);
  xml.start('HOST_LIST_VM_DETECTION_OUTPUT').start('RESPONSE');
  xml.text('DATETIME', formatQualysDateTime(Date.now()));
  if (page.items.length > 0) {
    xml.start('HOST_LIST');
    for (const item of page.items) writeHost(xml, item, output, ctx);
    xml.end();
  }
  if (page.nextIdMin !== undefined) {
    writeTruncationWarning(xml, limit, nextPageUrl(ctx.baseUrl, HOST_DETECTION_PATH, params, page.nextIdMin));
  }
  xml.end().end();
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
