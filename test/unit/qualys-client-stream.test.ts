// The client reads Host List Detection as it arrives: hosts are handed over while the body is still
// coming, and a body that then breaks fails the call (the caller drops what it took).
import { gzipSync } from 'node:zlib';
import { QualysClient } from '../../src/qualys/client';
import type { HostDetections } from '../../src/qualys/schemas';
import { fixture, startFakeQualys, xml, type FakeQualys } from './fixtures/qualys/fake-qualys';
import { qualysFailure } from './fixtures/qualys/qualys-failure';

let fake: FakeQualys;
let client: QualysClient;

beforeEach(async () => {
  fake = await startFakeQualys(() => xml('', 500));
  client = new QualysClient({ apiUrl: fake.url, username: 'acme_ab12', password: 'stream-test-password' });
});

afterEach(async () => {
  await client.close();
  await fake.close();
});

const failure = qualysFailure;

/** A page cut before its second host: what comes before, and the rest. */
function halves(body: string): { first: string; rest: string } {
  const secondHost = body.indexOf('<HOST>', body.indexOf('<HOST>') + 1);
  return { first: body.slice(0, secondHost), rest: body.slice(secondHost) };
}

it('hands a host over while the rest of the body has not been sent yet', async () => {
  const { first, rest } = halves(fixture('detections-page1.xml'));
  let sendRest: () => void = () => undefined;
  const restMayGo = new Promise<void>((resolve) => (sendRest = resolve));
  fake.route = (request) => {
    // The page's WARNING points at id_min=122: that next page has no hosts.
    if (request.form.get('id_min') === '122') return xml(fixture('detections-empty.xml'));
    return (res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.write(first);
      void restMayGo.then(() => res.end(rest));
    };
  };
  const taken: string[] = [];
  await client.streamDetections({ idMin: 1, idMax: 300 }, {}, {}, (host: HostDetections) => {
    taken.push(host.id);
    // The server holds the rest of the body until the first host has been handed over.
    sendRest();
  });
  expect(taken).toEqual(['120', '121']);
  expect(fake.requests.map((r) => r.form.get('id_min'))).toEqual(['1', '122']);
});

it('a connection dropped after some hosts were handed over fails the call (network, retryable)', async () => {
  const { first } = halves(fixture('detections-page1.xml'));
  fake.route = () => (res) => {
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.write(first, () => setImmediate(() => res.socket?.destroy()));
  };
  const taken: string[] = [];
  const e = await failure(client.streamDetections({ idMin: 1, idMax: 300 }, {}, {}, (host) => taken.push(host.id)));
  expect(e.kind).toBe('network');
  expect(e.retryable).toBe(true);
});

it('a gzip body cut short but closed cleanly is a malformed response, retryable', async () => {
  const gzipped = gzipSync(Buffer.from(fixture('detections-page1.xml')));
  fake.route = () => ({
    status: 200,
    headers: { 'Content-Type': 'text/xml', 'Content-Encoding': 'gzip' },
    body: gzipped.subarray(0, Math.floor(gzipped.length * 0.7)),
  });
  const e = await failure(client.listDetections({ idMin: 1, idMax: 300 }));
  expect(e.kind).toBe('malformed-response');
  expect(e.retryable).toBe(true);
});

it('a body cut short inside the XML, but closed cleanly, is a malformed response: never a short page', async () => {
  const body = fixture('detections-page1.xml');
  fake.route = () => xml(body.slice(0, body.lastIndexOf('</HOST_LIST>')));
  const taken: string[] = [];
  const e = await failure(client.streamDetections({ idMin: 1, idMax: 300 }, {}, {}, (host) => taken.push(host.id)));
  expect(taken).toEqual(['120', '121']);
  expect(e.kind).toBe('malformed-response');
  expect(e.message).toContain('not well-formed (unclosed tag: HOST_LIST at line ');
});
