/** The benchmark's figures, as written to JSON and rendered to Markdown. */
export interface BenchResult {
  date: string;
  command: string;
  machine: { cpus: string; cores: number; memoryGiB: number; node: string; platform: string };
  estate: { hosts: number; smallHosts: number; wideHosts: number; detectionsPerHost: number; pageSize: number; latency: string; limits: string };
  figures: Figure[];
  timelines: { temporal: Timeline; plain: Timeline };
}

export interface Figure {
  name: string;
  value: string;
  /** The ratio the target is about, if any. */
  ratio?: number;
  target?: string;
  met?: boolean;
  /** What the measurement says about why it is where it is (shown when the target is missed). */
  why?: string;
}

export interface Timeline {
  label: string;
  /** ms after the start at which each page was fetched / uploaded. */
  fetchedAt: number[];
  uploadedAt: number[];
  wallMs: number;
}

export function renderMarkdown(r: BenchResult): string {
  const rows = r.figures.map(
    (f) => `| ${f.name} | ${f.value} | ${f.ratio === undefined ? '' : f.ratio.toFixed(2)} | ${f.target ?? ''} | ${f.met === undefined ? '' : f.met ? 'met' : '**missed**'} |`,
  );
  const missed = r.figures.filter((f) => f.met === false);
  return [
    `Measured ${r.date} with \`${r.command}\`.`,
    '',
    `- Machine: ${r.machine.cores} × ${r.machine.cpus}, ${r.machine.memoryGiB} GiB, ${r.machine.platform}, Node ${r.machine.node}`,
    `- Estate: ${r.estate.hosts.toLocaleString('en-US')} hosts (and ${r.estate.smallHosts.toLocaleString('en-US')} for the memory and history comparisons, ${r.estate.wideHosts.toLocaleString('en-US')} at a limit of 10), ~${r.estate.detectionsPerHost} detections per host, ${r.estate.pageSize} hosts per page`,
    `- Simulated Qualys: ${r.estate.limits}; latency ${r.estate.latency}`,
    '',
    '| figure | value | ratio | target | |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(missed.length === 0
      ? ['Every target is met.', '']
      : [`Missed: ${missed.length} of ${r.figures.filter((f) => f.met !== undefined).length} targets.`, '', ...missed.map((f) => `- **${f.name}**: ${f.value}, target ${f.target}${f.why ? ` — ${f.why}.` : '.'}`), '']),
  ].join('\n');
}

/** A small line chart of pages done over time, for both runs (fetched: dashed, uploaded: solid). */
export function renderChartSvg(timelines: Timeline[], pages: number): string {
  const width = 720;
  const height = 360;
  const pad = { left: 56, right: 16, top: 28, bottom: 44 };
  const maxMs = Math.max(...timelines.map((t) => t.wallMs), 1);
  const x = (ms: number): number => pad.left + (ms / maxMs) * (width - pad.left - pad.right);
  const y = (n: number): number => height - pad.bottom - (n / Math.max(pages, 1)) * (height - pad.top - pad.bottom);
  const colours = ['#3b5bdb', '#e8590c'];
  const line = (times: number[], colour: string, dashed: boolean): string => {
    const sorted = [...times].sort((a, b) => a - b);
    const points = [`${x(0)},${y(0)}`, ...sorted.map((t, i) => `${x(t).toFixed(1)},${y(i + 1).toFixed(1)}`)];
    return `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="5,4"' : ''} points="${points.join(' ')}"/>`;
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const ms = f * maxMs;
    return `<text x="${x(ms)}" y="${height - pad.bottom + 16}" font-size="11" text-anchor="middle">${(ms / 1000).toFixed(0)} s</text>`;
  });
  const legend = timelines.map(
    (t, i) =>
      `<rect x="${pad.left + 10 + i * 300}" y="8" width="14" height="4" fill="${colours[i]}"/><text x="${pad.left + 30 + i * 300}" y="14" font-size="12">${t.label} (${(t.wallMs / 1000).toFixed(1)} s)</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<line x1="${pad.left}" y1="${y(0)}" x2="${width - pad.right}" y2="${y(0)}" stroke="#888"/>`,
    `<line x1="${pad.left}" y1="${y(0)}" x2="${pad.left}" y2="${y(pages)}" stroke="#888"/>`,
    `<text x="${pad.left - 8}" y="${y(pages) + 4}" font-size="11" text-anchor="end">${pages}</text>`,
    `<text x="${pad.left - 8}" y="${y(0) + 4}" font-size="11" text-anchor="end">0</text>`,
    `<text x="14" y="${(pad.top + height - pad.bottom) / 2}" font-size="12" transform="rotate(-90 14 ${(pad.top + height - pad.bottom) / 2})" text-anchor="middle">pages</text>`,
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 8}" font-size="12" text-anchor="middle">time since the run started (dashed: fetched from Qualys, solid: mapped and uploaded)</text>`,
    ...ticks,
    ...timelines.flatMap((t, i) => [line(t.fetchedAt, colours[i], true), line(t.uploadedAt, colours[i], false)]),
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}
