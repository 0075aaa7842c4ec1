import { readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { pageMapping } from '../src/activities/page-mapping';
import type { HostDetections } from '../src/qualys/schemas';
import { hostDetectionRecords } from '../src/qualys/parse-host-detection';
import { XmlBodyReader } from '../src/qualys/xml-body-reader';
import { copyField } from '../src/store/copy-rows';
import { applyHeapSettings } from '../src/worker/heap-settings';
import { findingRow } from '../src/store/staged-rows';

export interface CpuResult {
  pageBytes: number;
  detectionsPerPage: number;
  /** Detections per CPU second: a bare fast-xml-parser parse of the same bytes (no validation, no records). */
  bareParsePerSecond: number;
  /** Detections per CPU second, the worker's whole share of a page: parse + validate + stage + map + upload rows. */
  pipelinePerSecond: number;
  /** CPU milliseconds of each step for the page. */
  steps: { parse: number; stage: number; map: number };
  /** The page's findings as COPY text (what the upload sends). */
  findingRowBytes: number;
}

/** Bytes per chunk as they arrive from the socket (undici hands over about this much at a time). */
const CHUNK_BYTES = 64 * 1024;
const RUNS = 7;

/** The least CPU time (this process, all threads: GC included) `work` took over `runs` runs, after one warm-up run. */
function cpuMs(work: () => void, runs = RUNS): number {
  work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    work();
    const used = process.cpuUsage(before);
    times.push((used.user + used.system) / 1000);
  }
  // The least disturbed run: the machine is shared, and interference only ever adds CPU time.
  return Math.min(...times);
}

/**
 * What a Host List Detection page costs the worker, per CPU second, next to a bare fast-xml-parser parse
 * of the same bytes. The pipeline is what a page goes through on the worker: the body parsed as it
 * arrives in chunks, each host validated and serialised for staging (fetch pass); read back from
 * staging, mapped to findings with the QID → CVE map, and turned into COPY rows with their hashes
 * (upload pass). PostgreSQL's own work (parsing the JSON, writing rows) is not in it: another process.
 */
export function measureCpu(pageXml: Buffer, knowledgeBase: ReadonlyMap<string, { cves: string[] }>): CpuResult {
  const context = { endpoint: 'hostDetection' as const, httpStatus: 200, contentType: 'text/xml;charset=UTF-8' };
  const chunks: Buffer[] = [];
  for (let at = 0; at < pageXml.length; at += CHUNK_BYTES) chunks.push(pageXml.subarray(at, at + CHUNK_BYTES));

  const parse = (take: (host: HostDetections) => void): void => {
    // Bytes, as the HTTP client hands them over: decoding is the reader's (it reads the declared encoding).
    const reader = new XmlBodyReader(context, { reader: hostDetectionRecords, take });
    for (const chunk of chunks) reader.writeBytes(chunk);
    reader.end();
  };
  let staged: string[] = [];
  parse((host) => staged.push(JSON.stringify(host)));
  const detectionsPerPage = staged.reduce((n, json) => n + (JSON.parse(json) as HostDetections).detections.length, 0);
  // The parse is measured apart from the serialisation: each step's least CPU time, then their sum.

  const run = { connection: 'bench', runKey: 'bench-run', workflowId: 'bench', startedAt: '2026-01-01T00:00:00.000Z' };
  const page = { index: 0, idMin: 0, idMax: 0, hosts: 0 };
  // Every host of the page is in Host List's answer too (the estate), as in a real run.
  const listed = staged.map((json) => {
    const { detections: _detections, ...host } = JSON.parse(json) as HostDetections;
    return host;
  });
  let rowBytes = 0;
  const upload = (hostJson: readonly string[]): void => {
    const mapping = pageMapping('bench', run.startedAt, listed, [], knowledgeBase);
    rowBytes = 0;
    // As staging hands the hosts back: a hundred at a time, each JSON text parsed (pg does that for jsonb)
    // and read back through the schema it was staged by.
    for (let at = 0; at < hostJson.length; at += 100) {
      const batch = hostJson.slice(at, at + 100).map((json) => mapping.hostSchema.parse(JSON.parse(json)));
      let copy = '';
      for (const finding of mapping.findings(batch)) copy += `${findingRow(run, page, finding).map(copyField).join('\t')}\n`;
      rowBytes += copy.length;
    }
  };

  const parseMs = cpuMs(() => parse(() => undefined));
  const hosts: HostDetections[] = [];
  parse((host) => hosts.push(host));
  const stageMs = cpuMs(() => {
    staged = hosts.map((host) => JSON.stringify(host));
  });
  const uploadMs = cpuMs(() => upload(staged));
  const text = pageXml.toString('utf8');
  const bare = new XMLParser({ ignoreAttributes: false });
  const bareMs = cpuMs(() => bare.parse(text), 3);
  const perSecond = (ms: number): number => Math.round((detectionsPerPage / ms) * 1000);
  return {
    pageBytes: pageXml.length,
    detectionsPerPage,
    bareParsePerSecond: perSecond(bareMs),
    pipelinePerSecond: perSecond(parseMs + stageMs + uploadMs),
    steps: { parse: Math.round(parseMs), stage: Math.round(stageMs), map: Math.round(uploadMs) },
    findingRowBytes: rowBytes,
  };
}

/** `node lib/bench/cpu.js DIR`: measures DIR/page.xml with the QID → CVE map DIR/cves.json; prints one JSON line. */
if (require.main === module) {
  // Measured as the worker runs it.
  applyHeapSettings();
  const dir = process.argv[2] ?? '.';
  const cves = JSON.parse(readFileSync(path.join(dir, 'cves.json'), 'utf8')) as Record<string, string[]>;
  const knowledgeBase = new Map(Object.entries(cves).map(([qid, list]) => [qid, { cves: list }]));
  process.stdout.write(`${JSON.stringify(measureCpu(readFileSync(path.join(dir, 'page.xml')), knowledgeBase))}\n`);
}
