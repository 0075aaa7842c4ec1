// A whole connector run over the realistic profile — a Host List declared ISO-8859-1, detections
// without STATUS or other optional elements, elements and attributes the connector does not know —
// with every body arriving in pieces of 1 to 9 bytes, leaves the store exactly as the same run with
// bodies in the profile's usual (gzip, 16 KiB) chunks.
import { runSync, stateWithoutSeenTimes } from '../harness/sync-run';
import { useTestEnvironment } from '../harness/test-environment';

describe('reading Qualys answers in pieces', () => {
  const testEnvironment = useTestEnvironment();

  it('a run whose bodies arrive 1–9 bytes at a time leaves the store equal to the run read in chunks', async () => {
    const env = testEnvironment.env();
    const estate = { hosts: 24, seed: 43, profile: 'realistic' as const };
    const inChunks = await testEnvironment.simulator({ ...estate, transport: 'chunks' });
    const inPieces = await testEnvironment.simulator({ ...estate, transport: 'pieces' });

    const whole = await runSync(env, inChunks, { connection: 'pieces', input: { pageSize: 12 } });
    const pieces = await runSync(env, inPieces, { connection: 'pieces', input: { pageSize: 12 } });

    // The realistic quirks were in the answers the runs read.
    expect(inPieces.stats().requests.every((r) => r.contentEncoding === undefined)).toBe(true);
    expect(whole.assets.length).toBe(estate.hosts);
    expect(whole.findings.length).toBeGreaterThan(50);
    expect(stateWithoutSeenTimes(pieces)).toEqual(stateWithoutSeenTimes(whole));
    expect(pieces.report.totals).toEqual(whole.report.totals);
  }, 240_000);
});
