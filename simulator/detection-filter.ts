/**
 * Host List Detection's detection filters (reference §3.2), ANDed. Values were validated by
 * checkParams before they are read here.
 *
 * - `status`: default New, Active, Re-Opened — Fixed only when asked for (J1 documents the default).
 * - `detection_updated_since` / `detection_updated_before`: LAST_UPDATE_DATETIME on or after / before.
 * - `detection_processed_after` / `detection_processed_before`: LAST_PROCESSED_DATETIME after / before.
 *   Both times are an `advance`'s wall clock for the detections it changed or added (estate-changes.ts).
 * - `qids`, `severities`, `include_vuln_type`, `qds_min` / `qds_max`.
 */
import { parseQualysDate } from './dates';
import type { EstateDetection } from './detections';
import { BadRequest, type IdInterval, intervalsContain, optionalIdList, type Params } from './params';
import type { DetectionStatus } from './types';

const DEFAULT_STATUSES: readonly DetectionStatus[] = ['New', 'Active', 'Re-Opened'];
const STATUSES: readonly DetectionStatus[] = ['New', 'Active', 'Fixed', 'Re-Opened'];

export interface DetectionFilter {
  statuses: ReadonlySet<DetectionStatus>;
  qids?: IdInterval[];
  severities?: IdInterval[];
  vulnType?: 'Confirmed' | 'Potential';
  updatedSinceMs?: number;
  updatedBeforeMs?: number;
  processedAfterMs?: number;
  processedBeforeMs?: number;
  qdsMin?: number;
  qdsMax?: number;
}

function date(params: Params, name: string): number | undefined {
  const value = params.get(name);
  return value === undefined ? undefined : parseQualysDate(value.trim());
}

export function readDetectionFilter(params: Params): DetectionFilter {
  const severities = optionalIdList(params, 'severities');
  if (severities?.some((s) => s.from < 1 || s.to > 5)) {
    throw new BadRequest('1905', `parameter severities has invalid value: ${params.get('severities') ?? ''}`);
  }
  const status = params.get('status');
  const statuses = status === undefined
    ? DEFAULT_STATUSES
    : STATUSES.filter((candidate) => status.split(',').some((token) => token.trim() === candidate));
  const vulnType = params.get('include_vuln_type')?.trim();
  const qdsMin = params.get('qds_min');
  const qdsMax = params.get('qds_max');
  return {
    statuses: new Set(statuses),
    qids: optionalIdList(params, 'qids'),
    severities,
    vulnType: vulnType === 'confirmed' ? 'Confirmed' : vulnType === 'potential' ? 'Potential' : undefined,
    updatedSinceMs: date(params, 'detection_updated_since'),
    updatedBeforeMs: date(params, 'detection_updated_before'),
    processedAfterMs: date(params, 'detection_processed_after'),
    processedBeforeMs: date(params, 'detection_processed_before'),
    qdsMin: qdsMin === undefined ? undefined : Number(qdsMin),
    qdsMax: qdsMax === undefined ? undefined : Number(qdsMax),
  };
}

export function detectionPasses(d: EstateDetection, filter: DetectionFilter): boolean {
  return filter.statuses.has(d.status)
    && (filter.qids === undefined || intervalsContain(filter.qids, d.qid))
    && (filter.severities === undefined || intervalsContain(filter.severities, d.severity))
    && (filter.vulnType === undefined || d.type === filter.vulnType)
    && (filter.updatedSinceMs === undefined || d.lastUpdateMs >= filter.updatedSinceMs)
    && (filter.updatedBeforeMs === undefined || d.lastUpdateMs < filter.updatedBeforeMs)
    && (filter.processedAfterMs === undefined || d.lastProcessedMs > filter.processedAfterMs)
    && (filter.processedBeforeMs === undefined || d.lastProcessedMs < filter.processedBeforeMs)
    && (filter.qdsMin === undefined || (d.qds !== undefined && d.qds >= filter.qdsMin))
    && (filter.qdsMax === undefined || (d.qds !== undefined && d.qds <= filter.qdsMax));
}
