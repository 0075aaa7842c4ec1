// What reading Qualys' answers met — characters read as U+FFFD, odd values dropped, records rejected —
// goes from each call's event into the run's call log, and is summed into the run report.
import { callRecorder, summariseCalls } from '../../src/activities/call-log';

describe('reading counts in the call log and the run report', () => {
  it('are kept per call and summed by field over the successful calls', () => {
    const recorder = callRecorder();
    const base = { endpoint: 'hostDetection' as const, httpStatus: 200, durationMs: 5, ok: true };
    recorder.onCall({ ...base, replacedCharacters: { 'DETECTION.RESULTS': { characters: 12, values: 3 } }, droppedValues: { 'DETECTION.PORT': 2 } });
    recorder.onCall({ ...base, replacedCharacters: { 'DETECTION.RESULTS': { characters: 1, values: 1 }, 'HOST.DNS': { characters: 2, values: 1 } }, rejectedRecords: 1 });
    recorder.onCall({ ...base });
    // A failed attempt's page is fetched again: its counts would be counted twice.
    recorder.onCall({ ...base, ok: false, httpStatus: 500, droppedValues: { 'DETECTION.PORT': 7 } });

    const entries = JSON.parse(JSON.stringify(recorder.entries)) as typeof recorder.entries; // as the store keeps them (jsonb)
    expect(entries[2]).toEqual({ type: 'call', endpoint: 'hostDetection', httpStatus: 200, ok: true, ms: 5 });
    const summary = summariseCalls(entries);
    expect(summary.replacedCharacters).toEqual({ 'DETECTION.RESULTS': { characters: 13, values: 4 }, 'HOST.DNS': { characters: 2, values: 1 } });
    expect(summary.droppedValues).toEqual({ 'DETECTION.PORT': 2 });
    expect(summary.rejectedRecords).toBe(1);
  });

  it('are absent from a report whose answers had none', () => {
    const recorder = callRecorder();
    recorder.onCall({ endpoint: 'hostList', httpStatus: 200, durationMs: 1, ok: true });
    const summary = summariseCalls(recorder.entries);
    expect([summary.replacedCharacters, summary.droppedValues, summary.rejectedRecords]).toEqual([undefined, undefined, undefined]);
  });
});
