/**
 * Host List Detection API: `/api/2.0/fo/asset/host/vm/detection/?action=list`.
 * Hosts (ascending ID) with their DETECTION_LIST; hosts without a matching detection are omitted, as
 * real HLD does; `truncation_limit` counts hosts.
 */
import { CONFIDENTIALITY_BANNER, type ApiV2Context, writeTrailingComments } from './context';
import { formatQualysDateTime } from './dates';
import { type DetectionFilter, detectionPasses, readDetectionFilter } from './detection-filter';
import { type EstateDetection, qdsSeverity } from './detections';
import { HOST_DETECTION_PARAMS } from './endpoint-params';
import { hostPasses, readHostFilter } from './host-filter';
import { writeCloudElements, writeDnsElements } from './host-list';
import type { EstateHost } from './hosts';
import { nextPageUrl, selectedHostIndexes, takePage, writeTruncationWarning } from './paging';
import { checkParams } from './param-rules';
import { booleanFlag, optionalIdList, optionalNonNegativeInt, requireListAction } from './params';
import { type ApiReply, XML_CONTENT_TYPE } from './responses';
import { detectionResults } from './results-text';
import { hostQuirky, optionalElementsLeftOut, resultsWrittenAsText, statusLeftOut, unknownElementsAdded } from './wire-quirks';
import { flag, XmlWriter } from './xml';

export const HOST_DETECTION_PATH = '/api/2.0/fo/asset/host/vm/detection/';

interface DetectionOutput {
  showResults: boolean;
  showQds: boolean;
  showAssetId: boolean;
}

const time = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : formatQualysDateTime(ms));

function writeDetection(xml: XmlWriter, d: EstateDetection, output: DetectionOutput, ctx: ApiV2Context): void {
  const realistic = ctx.estate.profile === 'realistic';
  const unknown = realistic && unknownElementsAdded(d);
  const sparse = realistic && optionalElementsLeftOut(d);
  xml.start('DETECTION', unknown ? { origin: 'scanner' } : undefined);
  xml.text('UNIQUE_VULN_ID', d.uniqueVulnId);
  xml.text('QID', d.qid);
  xml.text('TYPE', d.type);
  xml.text('SEVERITY', d.severity);
  xml.text('PORT', d.port);
  xml.text('PROTOCOL', d.protocol);
  xml.text('SSL', flag(d.ssl));
  if (output.showResults) {
    const entry = ctx.estate.knowledgeBase.get(d.qid);
    const results = detectionResults(d, entry?.title ?? '', entry?.category ?? '', ctx.estate.profile, ctx.estate.seed);
    if (realistic && resultsWrittenAsText(d)) xml.textWithCarriageReturns('RESULTS', results);
    else xml.cdata('RESULTS', results);
  }
  if (!(realistic && statusLeftOut(d))) xml.text('STATUS', d.status);
  xml.text('FIRST_FOUND_DATETIME', time(d.firstFoundMs));
  xml.text('LAST_FOUND_DATETIME', time(d.lastFoundMs));
  if (output.showQds && d.qds !== undefined) xml.text('QDS', d.qds, { severity: qdsSeverity(d.qds) });
  if (unknown) {
    xml.start('EXPLOIT_PREDICTION', { model: 'v4' }).text('SCORE', '0.42').empty('HISTORY').end();
    xml.text('AFFECT_RUNNING_KERNEL', '1');
  }
  if (!sparse) {
    xml.text('TIMES_FOUND', d.timesFound);
    xml.text('LAST_TEST_DATETIME', time(d.lastTestMs));
    xml.text('LAST_UPDATE_DATETIME', time(d.lastUpdateMs));
  }
  xml.text('LAST_FIXED_DATETIME', time(d.lastFixedMs));
  xml.text('FIRST_REOPENED_DATETIME', time(d.firstReopenedMs));
  xml.text('LAST_REOPENED_DATETIME', time(d.lastReopenedMs));
  xml.text('TIMES_REOPENED', d.timesReopened);
  if (!sparse) {
    xml.text('IS_IGNORED', '0');
    xml.text('IS_DISABLED', '0');
    xml.text('LAST_PROCESSED_DATETIME', time(d.lastProcessedMs));
  }
  xml.end();
}

interface HostWithDetections {
  host: EstateHost;
  detections: EstateDetection[];
}

function writeHost(xml: XmlWriter, item: HostWithDetections, output: DetectionOutput, ctx: ApiV2Context): void {
  const { host } = item;
  const quirky = ctx.estate.profile === 'realistic' && hostQuirky(host.id);
  xml.start('HOST', quirky ? { scope: 'global' } : undefined);
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
  if (!quirky) xml.text('LAST_VM_SCANNED_DURATION', host.lastVmScanDurationSec);
  if (quirky) xml.start('ASSET_RISK', { version: '2' }).text('VALUE', '17').end();
  xml.start('DETECTION_LIST');
  for (const detection of item.detections) writeDetection(xml, detection, output, ctx);
  xml.end();
  xml.end();
}

export function handleHostDetection(ctx: ApiV2Context): ApiReply {
  const { params, estate } = ctx;
  checkParams(params, HOST_DETECTION_PARAMS);
  requireListAction(params);
  const limit = optionalNonNegativeInt(params, 'truncation_limit') ?? ctx.defaultTruncationLimit;
  const selection = {
    ids: optionalIdList(params, 'ids'),
    idMin: optionalNonNegativeInt(params, 'id_min'),
    idMax: optionalNonNegativeInt(params, 'id_max'),
  };
  const hostFilter = readHostFilter(params);
  const filter: DetectionFilter = readDetectionFilter(params);
  // Assumption: RESULTS only with show_results=1 and QDS only with show_qds=1 (the connector's defaults).
  const output: DetectionOutput = {
    showResults: booleanFlag(params, 'show_results'),
    showQds: booleanFlag(params, 'show_qds'),
    showAssetId: booleanFlag(params, 'show_asset_id'),
  };

  const page = takePage<HostWithDetections>(
    selectedHostIndexes(estate, selection),
    (index) => {
      const host = estate.host(index);
      if (!hostPasses(host, estate.processedMs(host), hostFilter)) return undefined;
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
  xml.text('DATETIME', formatQualysDateTime(ctx.estate.now()));
  if (page.items.length > 0) {
    xml.start('HOST_LIST');
    for (const item of page.items) writeHost(xml, item, output, ctx);
    xml.end();
  }
  if (page.nextIdMin !== undefined) {
    writeTruncationWarning(xml, limit, nextPageUrl(ctx.baseUrl, HOST_DETECTION_PATH, params, page.nextIdMin));
  }
  xml.end().end();
  writeTrailingComments(xml, 'HOST_LIST_VM_DETECTION_OUTPUT');
  return { status: 200, contentType: XML_CONTENT_TYPE, body: xml.toString() };
}
