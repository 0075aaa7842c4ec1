import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cutIntoPages, hostsOfPages, planRun, sortedIncludes } from '../../src/activities/run-plan';
import { ConnectionProfiles } from '../../src/config/connections';
import { ConfigError } from '../../src/config/errors';
import { assetSchema, findingSchema } from '../../src/model/exposure';
import { mapAsset, mapFindings, normaliseMac } from '../../src/model/map-qualys';
import { shrinkProblem } from '../../src/store/shrink-guard';
import { legacyCallsPerApiFor, callsPerApiFor, pagesInFlightFor, syncInputSchema } from '../../src/workflows/sync-input';

describe('cutIntoPages', () => {
  it('cuts sorted IDs into contiguous ranges of at most pageSize hosts', () => {
    expect(cutIntoPages([3, 5, 9, 10, 42], 2)).toEqual([
      { index: 0, idMin: 3, idMax: 5, hosts: 2 },
      { index: 1, idMin: 9, idMax: 10, hosts: 2 },
      { index: 2, idMin: 42, idMax: 42, hosts: 1 },
    ]);
    expect(cutIntoPages([], 10)).toEqual([]);
  });

  it('gives each page the hosts hostsOfPages lists for it', () => {
    const ids = [2, 3, 5, 7, 11, 13, 17];
    const pages = cutIntoPages(ids, 3);
    expect(hostsOfPages(ids, 3).map((hosts) => [hosts[0], hosts[hosts.length - 1], hosts.length])).toEqual(pages.map((p) => [p.idMin, p.idMax, p.hosts]));
  });
});

describe('sortedIncludes', () => {
  it('finds exactly the members of an ascending set', () => {
    const ids = [2, 3, 5, 7, 11, 13, 17];
    for (let id = 0; id <= 20; id++) expect(sortedIncludes(ids, id)).toBe(ids.includes(id));
    expect(sortedIncludes([], 1)).toBe(false);
  });
});

describe('connection profiles', () => {
  it('builds "default" from QUALYS_* and refuses a half-configured one, naming what is missing', () => {
    const profiles = ConnectionProfiles.fromEnvironment({ QUALYS_API_URL: 'u', QUALYS_USERNAME: 'n', QUALYS_PASSWORD: 'p' });
    expect(profiles.get('default')).toMatchObject({ apiUrl: 'u', username: 'n' });
    expect(() => ConnectionProfiles.fromEnvironment({ QUALYS_API_URL: 'u' })).toThrow(/QUALYS_USERNAME, QUALYS_PASSWORD/);
  });

  it('reads a connections file whose passwords come from the environment', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'profiles-')), 'connections.json');
    writeFileSync(file, JSON.stringify({ connections: { prod: { apiUrl: 'a', username: 'b', passwordEnv: 'PROD_PW' } } }));
    expect(ConnectionProfiles.fromEnvironment({ QUALYS_CONNECTIONS_FILE: file, PROD_PW: 's3cret' }).get('prod').password).toBe('s3cret');
    expect(() => ConnectionProfiles.fromEnvironment({ QUALYS_CONNECTIONS_FILE: file })).toThrow(/PROD_PW, which is not set/);
  });

  it('names the known profiles when asked for an unknown one', () => {
    const profiles = ConnectionProfiles.of({ name: 'a', apiUrl: 'u', username: 'n', password: 'p' });
    expect(() => profiles.get('b')).toThrow(ConfigError);
    expect(() => profiles.get('b')).toThrow(/Known profiles: a/);
  });
});

describe('sync input', () => {
  it('accepts a connection name with optional overrides and rejects unknown fields', () => {
    expect(syncInputSchema.parse({ connection: 'prod', pageSize: 500 })).toEqual({ connection: 'prod', pageSize: 500 });
    expect(syncInputSchema.safeParse({ connection: 'prod', password: 'x' }).success).toBe(false);
  });
});

describe('mapping', () => {
  const seenAt = '2026-01-01T00:00:00.000Z';

  it('maps a host and its interfaces to a valid asset with normalised MACs', () => {
    const asset = mapAsset(
      'c',
      { id: '7', ip: '10.0.0.7', dnsData: { fqdn: 'h.example.com', hostname: 'h' }, os: 'Linux', assetCriticalityScore: 4, truriskScore: 650 },
      {
        id: '5007',
        qwebHostId: '7',
        interfaces: [
          { interfaceName: 'eth0', macAddress: '00-1A-2B-3C-4D-5E', address: '10.0.0.7', gatewayAddress: '10.0.0.1' },
          { interfaceName: 'eth1', address: 'fe80::1' },
        ],
      },
      seenAt,
    );
    expect(assetSchema.parse(asset)).toEqual(asset);
    expect(asset).toMatchObject({
      key: 'qualys:c:host:7',
      fqdn: 'h.example.com',
      macAddresses: ['00:1a:2b:3c:4d:5e'],
      gatewayAddresses: ['10.0.0.1'],
      ipv4Addresses: ['10.0.0.7'],
      ipv6Addresses: ['fe80::1'],
      criticality: { assetCriticalityScore: 4, truRiskScore: 650 },
    });
    expect(normaliseMac('not-a-mac')).toBeUndefined();
  });

  it('makes one finding per (asset, CVE), keeps the evidence, and counts QIDs without a CVE as dropped', () => {
    const kb = new Map([
      ['1', { cves: ['CVE-2024-0001', 'CVE-2024-0002'] }],
      ['2', { cves: ['CVE-2024-0001'] }],
      ['3', { cves: [] }],
    ]);
    const { findings, droppedNoCve, droppedUnknownQid } = mapFindings(
      'c',
      '7',
      [
        { qid: '1', type: 'Confirmed', status: 'Fixed', severity: 3, ssl: false, firstFound: '2024-01-01T00:00:00Z' },
        { qid: '2', type: 'Confirmed', status: 'Active', severity: 5, ssl: true, port: '443' },
        { qid: '3', type: 'Confirmed', status: 'Active', ssl: false },
        { qid: '999', type: 'Confirmed', status: 'New', ssl: false },
      ],
      kb,
      seenAt,
    );
    expect(droppedNoCve).toBe(1);
    expect(droppedUnknownQid).toBe(1);
    expect(findings.map((f) => [f.cve, f.status, f.severity, f.evidence.length])).toEqual([
      ['CVE-2024-0001', 'open', 5, 2],
      ['CVE-2024-0002', 'fixed', 3, 1],
    ]);
    for (const f of findings) expect(findingSchema.parse(f)).toEqual(f);
  });
});

describe('shrink guard', () => {
  const policy = { allowShrink: false, maxShrinkShare: 0.5 };
  it('lets a first run, a small drop and growth through', () => {
    expect(shrinkProblem(undefined, 0, policy)).toBeUndefined();
    expect(shrinkProblem(100, 50, policy)).toBeUndefined();
    expect(shrinkProblem(100, 300, policy)).toBeUndefined();
  });
  it('stops a drop to 0 or by more than the share, naming both counts and the likely causes', () => {
    expect(shrinkProblem(100, 0, policy)).toMatch(/returned 0 hosts where the last committed run had 100.*API user lost scope.*"allowShrink": true/);
    expect(shrinkProblem(100, 49, policy)).toMatch(/49 hosts .* 100 .*51 %/);
    expect(shrinkProblem(100, 0, { ...policy, allowShrink: true })).toBeUndefined();
  });
});

describe('pages in flight', () => {
  it("follow the subscription's limit, one slot kept free, capped only when the input says so", () => {
    expect(callsPerApiFor(undefined, 2)).toBe(1);
    expect(callsPerApiFor(undefined, 10)).toBe(9);
    expect(callsPerApiFor(undefined, 1)).toBe(1);
    expect(callsPerApiFor(undefined, undefined)).toBe(1);
    expect(callsPerApiFor(3, 10)).toBe(3);
    expect(callsPerApiFor(20, 10)).toBe(9);
  });

  it('pages fetched at once: two more than the calls per API, so staging and applying overlap the next calls; an input cap is kept', () => {
    expect(pagesInFlightFor(undefined, 1)).toBe(3);
    expect(pagesInFlightFor(undefined, 9)).toBe(11);
    // Runs started before the applies-beside-fetches patch: one page beyond the calls.
    expect(pagesInFlightFor(undefined, 1, 1)).toBe(2);
    expect(pagesInFlightFor(3, callsPerApiFor(3, 10))).toBe(3);
    expect(pagesInFlightFor(20, callsPerApiFor(20, 10))).toBe(11);
  });

  it('as runs started before this change computed them (a default cap of 4), for replaying those', () => {
    expect(legacyCallsPerApiFor(undefined, 10)).toBe(4);
    expect(legacyCallsPerApiFor(undefined, 2)).toBe(1);
    expect(legacyCallsPerApiFor(6, 10)).toBe(6);
  });
});

describe('planRun: full or incremental, by Qualys\' time', () => {
  const request = { mode: 'auto' as const, fullEveryHours: 24, overlapMinutes: 60 };
  const state = { watermark: '2026-11-27T10:00:00.000Z', lastFullAt: '2026-11-27T00:00:00.000Z' };

  it('a first run is full, whatever was asked', () => {
    expect(planRun({ ...request, mode: 'incremental' }, {}, '2026-11-27T11:00:00Z')).toMatchObject({ mode: 'full', reason: 'the connection has no committed full run yet' });
  });

  it('auto: incremental since the watermark minus the overlap while the last full run is young, full once it is old', () => {
    expect(planRun(request, state, '2026-11-27T11:00:00Z')).toEqual({
      mode: 'incremental',
      since: '2026-11-27T09:00:00Z',
      reason: 'the last full run is 11.0 h old, a full run every 24 h',
    });
    expect(planRun(request, state, '2026-11-28T00:00:00Z')).toMatchObject({ mode: 'full', reason: 'the last full run is 24.0 h old, a full run every 24 h' });
  });

  it('explicit modes win; an unknown Qualys time makes auto full', () => {
    expect(planRun({ ...request, mode: 'full' }, state, '2026-11-27T11:00:00Z').mode).toBe('full');
    expect(planRun({ ...request, mode: 'incremental' }, state, '2027-01-01T00:00:00Z').mode).toBe('incremental');
    expect(planRun(request, state, undefined).mode).toBe('full');
  });
});
