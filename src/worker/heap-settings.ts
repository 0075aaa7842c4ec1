import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets its old generation grow past what the last full collection kept, before collecting
 * again: 1.5× here instead of V8's up to 4×. A worker keeps little alive — a page's staged JSON, a
 * batch of findings per lane — but parsing and uploading pages churn through garbage that outlives a
 * young-generation collection; with V8's default that garbage shows as hundreds of MiB of resident
 * memory (measured: a 2 000-host run peaked at ≈ 420 MiB, ≈ 310 MiB with this; see BENCHMARKS.md).
 * The price is more frequent (concurrent, incremental) marking. Read by V8 each time it sizes the
 * heap, so setting it at start-up is enough.
 */
export const OLD_GENERATION_GROWTH_PERCENT = 50;

export function applyHeapSettings(): void {
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`);
}
