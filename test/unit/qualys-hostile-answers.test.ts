// Answers a hostile or broken server (a TLS-inspecting proxy, a wrong API URL) could send, from a
// loopback server through the connector's own client: each fails its page with a typed error naming
// what was wrong, after reading little of it, or is read with what PostgreSQL would refuse replaced.
import { gzipSync } from 'node:zlib';
import { QualysClient, type QualysCallEvent } from '../../src/qualys/client';
import type { QualysError } from '../../src/qualys/errors';
import { XML_LIMITS } from '../../src/qualys/xml-limits';
import { fixture, standardLimitHeaders, startFakeQualys, xml, type FakeQualys } from './fixtures/qualys/fake-qualys';
import { qualysFailure } from './fixtures/qualys/qualys-failure';

let fake: FakeQualys;
let client: QualysClient;
const events: QualysCallEvent[] = [];

beforeEach(async () => {
  events.length = 0;
  fake = await startFakeQualys(() => xml('', 500));
  client = new QualysClient({ apiUrl: fake.url, username: 'acme_ab12', password: 'not-a-secret-here' }, { onCall: (event) => events.push(event) });
});

afterEach(async () => {
  await client.close();
  await fake.close();
});

const failure = qualysFailure;

const gzipped = (body: string, status = 200, contentType = 'text/xml;charset=UTF-8') => ({
  status,
  body: gzipSync(Buffer.from(body, 'utf8'), { level: 9 }),
  headers: { ...standardLimitHeaders, 'Content-Type': contentType, 'Content-Encoding': 'gzip' },
});

/** The byte count a reader's message says it had received when it gave up. */
const bytesRead = (error: QualysError): number => Number(/abandoned after (\d+) bytes/.exec(error.message)?.[1] ?? NaN);

describe('budgets on what an answer can make the reader hold', () => {
  it('10 M unclosed elements (a few tens of KB gzipped) fail the page at the depth limit, not retried, after reading little', async () => {
    const body = `<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>${'<a>'.repeat(10_000_000)}`;
    const answer = gzipped(body);
    expect(answer.body.length).toBeLessThan(64 * 1024);
    fake.route = () => answer;
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expect({ kind: e.kind, retryable: e.retryable }).toEqual({ kind: 'malformed-response', retryable: false });
    expect(e.message).toContain('more than 64 elements open at once (limit depth)');
    expect(bytesRead(e)).toBeLessThan(1024 * 1024);
  });

  it('100,001 empty elements in the envelope fail at the envelope limit', async () => {
    fake.route = () => gzipped(`<HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE>${'<a/>'.repeat(100_001)}</RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`);
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expect({ kind: e.kind, retryable: e.retryable }).toEqual({ kind: 'malformed-response', retryable: false });
    expect(e.message).toContain('(limit envelopeElements)');
  });

  it('a host ID set that claims more IDs than any subscription holds fails its page before they are held', async () => {
    fake.route = () =>
      gzipped('<HOST_LIST_OUTPUT><RESPONSE><ID_SET><ID>1</ID><ID_RANGE>2-20000001</ID_RANGE></ID_SET></RESPONSE></HOST_LIST_OUTPUT>');
    const e = await failure(client.listHostIds());
    expect({ kind: e.kind, retryable: e.retryable }).toEqual({ kind: 'malformed-response', retryable: false });
    expect(e.message).toContain('implausibly large host ID set (over 20,000,000 IDs at "2-20000001")');
  });

  it('a host ID set with more entries than an envelope may hold is read entry by entry, as records', async () => {
    const entries = Array.from({ length: 2 * XML_LIMITS.envelopeElements }, (_, i) => `<ID>${2 * i + 1}</ID>`).join('');
    fake.route = () => gzipped(`<HOST_LIST_OUTPUT><RESPONSE><ID_SET>${entries}</ID_SET></RESPONSE></HOST_LIST_OUTPUT>`);
    const ids = await client.listHostIds();
    expect(ids).toHaveLength(2 * XML_LIMITS.envelopeElements);
    expect(ids.at(-1)).toBe(4 * XML_LIMITS.envelopeElements - 1);
  });

  it('an attribute value that never ends fails at the unfinished-construct limit, after reading little more than it', async () => {
    fake.route = () => gzipped(`<HOST_LIST_VM_DETECTION_OUTPUT a="${'x'.repeat(40 * 1024 * 1024)}`);
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expect({ kind: e.kind, retryable: e.retryable }).toEqual({ kind: 'malformed-response', retryable: false });
    expect(e.message).toContain('(limit pendingCharacters)');
    expect(bytesRead(e)).toBeLessThan(34 * 1024 * 1024);
  });
});

describe('an HTML error page is named by a bounded scan', () => {
  it('a 500 page of 160 000 "<title" openings (gzipped) is a server error at once, its title looked for in 64 KiB only', async () => {
    fake.route = () => gzipped(`<html>${'<title'.repeat(160_000)}`, 500, 'text/html');
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expect({ kind: e.kind, httpStatus: e.httpStatus }).toEqual({ kind: 'server', httpStatus: 500 });
  });

  it('a 500 page with a title still names it', async () => {
    fake.route = () => gzipped('<html><head><title>Service Unavailable</title></head><body>later</body></html>', 500, 'text/html');
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expect(e.kind).toBe('server');
    expect(e.message).toContain('Service Unavailable');
  });
});

describe('characters PostgreSQL refuses never reach a record', () => {
  it('a NUL in DNS, raw or as &#0;, and an ESC in RESULTS read as U+FFFD, counted by field in the call event', async () => {
    const body = fixture('detections-page1.xml')
      .replace('<DNS><![CDATA[web-01.corp.example.com]]></DNS>', '<DNS>web-01\u0000.corp&#0;.example.com</DNS>')
      .replace('Certificate #0 CN=web-01.corp.example.com doesn&apos;t resolve', '\u001b[31mred\u001b[0m');
    fake.route = () => xml(body.replace(/<WARNING>[\s\S]*<\/WARNING>/, ''));
    const hosts = await client.listDetections({ idMin: 1, idMax: 200 });
    expect(hosts[0]?.dns).toBe('web-01\ufffd.corp\ufffd.example.com');
    expect(hosts[0]?.detections[0]?.results).toBe('\ufffd[31mred\ufffd[0m');
    expect(JSON.stringify(hosts)).not.toContain('\\u0000');
    expect(events.at(-1)?.replacedCharacters).toEqual({
      'HOST.DNS': { characters: 2, values: 1 },
      'DETECTION.RESULTS': { characters: 2, values: 1 },
    });
  });
});
