import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for a worker process, measured on Host List Detection pages (see BENCHMARKS.md). A worker
 * keeps little alive — a page's records one at a time, a batch of findings per lane — but churns
 * through short-lived garbage quickly. Both are read by V8 as it goes, so setting them at start-up works.
 */
const V8_FLAGS = [
  // No allocation-site pretenuring: after one unlucky young-generation collection V8 may decide that a
  // parse's records are long-lived and allocate them straight into the old generation, where they pile
  // up as garbage. It happened in some processes and not others; when it did, a page's parse took
  // ≈ 2.5× the CPU (≈ 0.9 s instead of ≈ 0.35 s, the extra in GC threads) and ≈ 100 MiB more memory.
  '--no-allocation-site-pretenuring',
  // The old generation may grow to 1.5× what the last full collection kept, not up to 4×: garbage that
  // outlives a young collection then costs tens of MiB of resident memory, not hundreds (a 2 000-host
  // run peaked at ≈ 420 MiB without it, ≈ 310 MiB with it), for more frequent (concurrent) marking.
  '--heap-growing-percent=50',
];

export function applyHeapSettings(): void {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
