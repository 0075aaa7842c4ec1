import { performance } from 'node:perf_hooks';
import { XMLParser } from 'fast-xml-parser';
import { mapFindings } from '../src/model/map-qualys';
import { parseHostDetectionPage } from '../src/qualys/parse-host-detection';
import { parseQualysXml } from '../src/qualys/xml';

export interface CpuResult {
  pageBytes: number;
  detectionsPerPage: number;
  /** Detections per second on one core: a bare fast-xml-parser parse of the same bytes. */
  bareParsePerSecond: number;
  /** Detections per second on one core: our parse (validation, typed records) + mapping to findings. */
  parseAndMapPerSecond: number;
}

/** Times `work` over at least `minMs` (after one warm-up run) and returns runs per second. */
function runsPerSecond(work: () => void, minMs = 3000): number {
  work();
  let runs = 0;
  const started = performance.now();
  while (performance.now() - started < minMs) {
    work();
    runs += 1;
  }
  return runs / ((performance.now() - started) / 1000);
}

/**
 * What parsing and mapping a Host List Detection page costs, next to the bare XML parse of the same
 * bytes: the ratio shows the price of validation, typed records and the model mapping.
 */
export function measureCpu(pageXml: string, knowledgeBase: ReadonlyMap<string, { cves: string[] }>): CpuResult {
  const context = { endpoint: 'hostDetection' as const, httpStatus: 200, contentType: 'text/xml;charset=UTF-8' };
  const parse = (): ReturnType<typeof parseHostDetectionPage> => parseHostDetectionPage(parseQualysXml(pageXml, context), context);
  const detectionsPerPage = parse().hosts.reduce((n, h) => n + h.detections.length, 0);
  const bare = new XMLParser({ ignoreAttributes: false });
  const bareRuns = runsPerSecond(() => bare.parse(pageXml));
  const oursRuns = runsPerSecond(() => {
    for (const host of parse().hosts) mapFindings('bench', host.id, host.detections, knowledgeBase, '2026-01-01T00:00:00.000Z');
  });
  return {
    pageBytes: Buffer.byteLength(pageXml),
    detectionsPerPage,
    bareParsePerSecond: Math.round(bareRuns * detectionsPerPage),
    parseAndMapPerSecond: Math.round(oursRuns * detectionsPerPage),
  };
}
