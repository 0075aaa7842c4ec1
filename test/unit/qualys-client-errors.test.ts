import { inspect } from 'node:util';
import { QualysClient } from '../../src/qualys/client';
import { QualysError, isQualysError, type QualysErrorKind } from '../../src/qualys/errors';
import { fixture, standardLimitHeaders, startFakeQualys, xml, type FakeQualys } from './fixtures/qualys/fake-qualys';
import { qualysFailure } from './fixtures/qualys/qualys-failure';

const USERNAME = 'acme_ab12';
// Distinctive, with characters that need URL/Basic encoding, so a leak would be unmistakable.
const PASSWORD = 'Zq9!leak-canary+/=Ä';
const BASIC_TOKEN = Buffer.from(`${USERNAME}:${PASSWORD}`, 'utf8').toString('base64');

let fake: FakeQualys;
let client: QualysClient;
const seen: QualysError[] = [];

beforeEach(async () => {
  fake = await startFakeQualys(() => xml('', 500));
  client = new QualysClient({ apiUrl: fake.url, username: USERNAME, password: PASSWORD });
});

afterEach(async () => {
  await client.close();
  await fake.close();
});

const failure = (call: Promise<unknown>): Promise<QualysError> => qualysFailure(call, seen);

function expectKind(error: QualysError, kind: QualysErrorKind, retryable: boolean): void {
  expect({ kind: error.kind, retryable: error.retryable }).toEqual({ kind, retryable });
}

describe('API v2 error documents', () => {
  it('401 / CODE 2000 → authentication, naming the three causes', async () => {
    fake.route = () => xml(fixture('simple-return-2000.xml'), 401, {});
    const e = await failure(client.listHostIds());
    expectKind(e, 'authentication', false);
    expect(e).toMatchObject({ httpStatus: 401, qualysCode: '2000', qualysText: 'Bad Login/Password', endpoint: 'hostList' });
    expect(e.message).toContain('wrong username or password');
    expect(e.message).toContain('without API access');
    expect(e.message).toContain('wrong platform (POD)');
    expect(e.fix).toContain('Help → About');
  });

  it('HTTP 401 without a body is still authentication', async () => {
    fake.route = () => ({ status: 401 });
    expectKind(await failure(client.listHostIds()), 'authentication', false);
  });

  it('CODE 2001 (expired account, HTTP 200) → account', async () => {
    fake.route = () => xml(fixture('simple-return-2001.xml'), 200, {});
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expectKind(e, 'account', false);
    expect(e.message).toContain('This account has expired.');
  });

  it('HTTP 403 → account (inactive, or licence without API)', async () => {
    fake.route = () => ({ status: 403, body: 'Forbidden' });
    const e = await failure(client.listHostIds());
    expectKind(e, 'account', false);
    expect(e.message).toContain('inactive');
  });

  it('a refusal of the KnowledgeBase alone (403, or a 20xx code other than 2001) → permission', async () => {
    fake.route = () => ({ status: 403 });
    expectKind(await failure(client.knowledgeBase(['38170'])), 'permission', false);
    fake.route = () => xml(fixture('simple-return-2001.xml').replace('2001', '2002').replace('This account has expired.', 'Not allowed.'), 403);
    const e = await failure(client.knowledgeBase(['38170']));
    expectKind(e, 'permission', false);
    expect(e.message).toContain('KnowledgeBase');
    fake.route = () => xml(fixture('simple-return-2001.xml'), 200, {});
    expectKind(await failure(client.knowledgeBase(['38170'])), 'account', false);
  });

  it('409 / CODE 1960 → concurrency-limit, retryable, with the limit from the headers', async () => {
    fake.route = () =>
      xml(fixture('simple-return-1960.xml'), 409, {
        ...standardLimitHeaders,
        'X-Concurrency-Limit-Running': '2',
      });
    const e = await failure(client.listDetections({ idMin: 1, idMax: 5 }));
    expectKind(e, 'concurrency-limit', true);
    expect(e.qualysCode).toBe('1960');
    expect(e.message).toContain('2 of 2 allowed concurrent calls are running');
    expect(client.subscriptionLimits()?.concurrencyRunning).toBe(2);
  });

  it('409 / CODE 1965 → rate-limit with SECONDS_TO_WAIT', async () => {
    fake.route = () =>
      xml(fixture('simple-return-1965.xml'), 409, { ...standardLimitHeaders, 'X-RateLimit-Remaining': '0', 'X-RateLimit-ToWait-Sec': '1140' });
    const e = await failure(client.listHostIds());
    expectKind(e, 'rate-limit', true);
    expect(e.waitSeconds).toBe(1148);
    expect(e.details()).toMatchObject({ kind: 'rate-limit', retryable: true, waitSeconds: 1148, qualysCode: '1965' });
  });

  it('400 / CODE 1965 (as the docs print it) → rate-limit, wait from the header when no ITEM', async () => {
    const body = fixture('simple-return-1965.xml').replace(/<ITEM_LIST>[\s\S]*<\/ITEM_LIST>/, '');
    fake.route = () => xml(body, 400, { ...standardLimitHeaders, 'X-RateLimit-ToWait-Sec': '600' });
    const e = await failure(client.listHostIds());
    expectKind(e, 'rate-limit', true);
    expect(e.waitSeconds).toBe(600);
  });

  it('1965 without ITEM or header → wait read from the TEXT', async () => {
    const body = fixture('simple-return-1965.xml').replace(/<ITEM_LIST>[\s\S]*<\/ITEM_LIST>/, '');
    fake.route = () => xml(body, 409, {});
    expect((await failure(client.listHostIds())).waitSeconds).toBe(19 * 60 + 8);
  });

  it('409 without a body code → concurrency-limit, or rate-limit when the headers say the budget is spent', async () => {
    fake.route = () => ({ status: 409, headers: standardLimitHeaders });
    expectKind(await failure(client.listHostIds()), 'concurrency-limit', true);
    fake.route = () => ({ status: 409, headers: { ...standardLimitHeaders, 'X-RateLimit-Remaining': '0', 'X-RateLimit-ToWait-Sec': '42' } });
    const e = await failure(client.listHostIds());
    expectKind(e, 'rate-limit', true);
    expect(e.waitSeconds).toBe(42);
  });

  it('400 / CODE 1905 → bad-request, not retryable', async () => {
    fake.route = () => xml(fixture('simple-return-1905.xml'), 400);
    const e = await failure(client.knowledgeBase(['1']));
    expectKind(e, 'bad-request', false);
    expect(e.message).toContain('parameter ids has invalid value');
  });

  it('GENERIC_RETURN 999 → server, retryable', async () => {
    fake.route = () => xml(fixture('generic-return-999.xml'), 500, {});
    const e = await failure(client.listDetections({ idMin: 1, idMax: 2 }));
    expectKind(e, 'server', true);
    expect(e.qualysCode).toBe('999');
    expect(e.message).toContain('Internal error');
  });
});

describe('HTTP-level failures', () => {
  it('503 with an empty body → server, retryable', async () => {
    fake.route = () => ({ status: 503 });
    const e = await failure(client.listHostIds());
    expectKind(e, 'server', true);
    expect(e.fix).toContain('maintenance');
  });

  it.each([502, 503, 504, 500])('%d HTML page from a proxy → server, retryable, naming the status and the page', async (status) => {
    const page = fixture('bad-gateway.html').replace(/502 Bad Gateway/g, `${status} From The Proxy`);
    fake.route = () => ({ status, headers: { 'Content-Type': 'text/html' }, body: page });
    const e = await failure(client.listDetections({ idMin: 1, idMax: 2 }));
    expectKind(e, 'server', true);
    expect(e).toMatchObject({ httpStatus: status, endpoint: 'hostDetection' });
    expect(e.message).toBe(
      `Host List Detection failed with HTTP ${status} (an HTML page "${status} From The Proxy" from a proxy, load balancer or maintenance window instead of XML).`,
    );
  });

  it('the 502 fixture page → server naming "502 Bad Gateway", also without a text/html content type', async () => {
    fake.route = () => ({ status: 502, headers: { 'Content-Type': 'text/plain' }, body: fixture('bad-gateway.html') });
    const e = await failure(client.listHostIds());
    expectKind(e, 'server', true);
    expect(e.message).toContain('HTTP 502 (an HTML page "502 Bad Gateway"');
    expect(e.fix).toContain('proxy');
  });

  it('a 5xx HTML page on Asset Management (QPS) → server too', async () => {
    fake.route = () => ({ status: 504, headers: { 'Content-Type': 'text/html' }, body: fixture('bad-gateway.html') });
    const e = await failure(client.searchHostAssets({ idMin: 1, idMax: 2 }));
    expectKind(e, 'server', true);
    expect(e).toMatchObject({ httpStatus: 504, endpoint: 'hostAssetSearch' });
  });

  it('a 5xx with a body that is neither XML nor HTML → server', async () => {
    fake.route = () => ({ status: 502, headers: { 'Content-Type': 'text/plain' }, body: 'upstream connect error or disconnect/reset before headers' });
    const e = await failure(client.listHostIds());
    expectKind(e, 'server', true);
    expect(e.message).toBe('Host List failed with HTTP 502 (a body that is not well-formed XML).');
  });

  it('an HTML page on HTTP 200 (captive portal, wrong host) stays a malformed-response', async () => {
    const portal = '<!DOCTYPE html><html><head><title>Hotel Wi-Fi Login</title></head><body>Accept the terms</body></html>';
    fake.route = () => ({ status: 200, headers: { 'Content-Type': 'text/html' }, body: portal });
    const e = await failure(client.listDetections({ idMin: 1, idMax: 2 }));
    expectKind(e, 'malformed-response', true);
    expect(e.message).toBe(
      'Host List Detection returned an HTML page (status 200) instead of XML — a proxy or load balancer answered ("Hotel Wi-Fi Login").',
    );
  });

  it('404 → config (not a Qualys API server)', async () => {
    fake.route = () => ({ status: 404, body: 'Not Found' });
    expectKind(await failure(client.listHostIds()), 'config', false);
  });

  it('a redirect → config (probably the UI or a portal)', async () => {
    fake.route = () => ({ status: 302, headers: { Location: 'https://qualysguard.qg2.apps.qualys.com/fo/login.php' } });
    const e = await failure(client.listHostIds());
    expectKind(e, 'config', false);
    expect(e.message).toContain('qualysguard.qg2.apps.qualys.com/fo/login.php');
  });
});

describe('broken bodies', () => {
  it('a body cut off mid-document → malformed-response, retryable', async () => {
    const full = fixture('detections-page1.xml');
    fake.route = () => xml(full.slice(0, Math.floor(full.length * 0.6)));
    const e = await failure(client.listDetections({ idMin: 1, idMax: 300 }));
    expectKind(e, 'malformed-response', true);
    expect(e.message).toContain('not well-formed');
  });

  it('malformed XML → malformed-response', async () => {
    fake.route = () => xml('<HOST_LIST_OUTPUT><RESPONSE><DATETIME>x</DATETIME></RESPONS></HOST_LIST_OUTPUT>');
    expectKind(await failure(client.listHostIds()), 'malformed-response', true);
  });

  it('an unexpected root → malformed-response, never an empty result', async () => {
    fake.route = () => xml(fixture('knowledge-base-empty.xml'));
    const e = await failure(client.listHostIds());
    expectKind(e, 'malformed-response', true);
    expect(e.message).toContain('expected <HOST_LIST_OUTPUT>');
  });

  it('a record that cannot be read (its QID is not a number) → malformed-response, NOT retryable, naming the element, the host and the QID', async () => {
    fake.route = () => xml(fixture('detections-page1.xml').replace('<QID>38170</QID>', '<QID>38170x</QID>'));
    const e = await failure(client.listDetections({ idMin: 1, idMax: 200 }));
    expectKind(e, 'malformed-response', false);
    expect(e.message).toMatch(/DETECTION\[0\]\.QID \(HOST ID 120 › DETECTION QID 38170x\): expected a numeric ID, got "38170x"/);
    expect(e.fix).toMatch(/retrying will not help/);
  });

  it('a response without RESPONSE → malformed-response, not retryable (the same document would come back)', async () => {
    fake.route = () => xml('<HOST_LIST_VM_DETECTION_OUTPUT></HOST_LIST_VM_DETECTION_OUTPUT>');
    expectKind(await failure(client.listDetections({ idMin: 1, idMax: 2 })), 'malformed-response', false);
  });
});

describe('QPS errors inside HTTP 200', () => {
  it.each([
    ['qps-invalid-credentials.xml', 'authentication', false, 'INVALID_CREDENTIALS'],
    ['qps-unauthorized.xml', 'permission', false, 'UNAUTHORIZED'],
    ['qps-evaluation-expired.xml', 'permission', false, 'EVALUATION_EXPIRED'],
    ['qps-invalid-request.xml', 'bad-request', false, 'INVALID_REQUEST'],
  ] as const)('%s → %s', async (file, kind, retryable, code) => {
    fake.route = () => xml(fixture(file), 200, {});
    const e = await failure(client.searchHostAssets({ idMin: 1, idMax: 2 }));
    expectKind(e, kind, retryable);
    expect(e.qualysCode).toBe(code);
    expect(e.httpStatus).toBe(200);
    expect(e.endpoint).toBe('hostAssetSearch');
  });

  it('names the Asset Management permission for UNAUTHORIZED', async () => {
    fake.route = () => xml(fixture('qps-unauthorized.xml'), 200, {});
    const e = await failure(client.countHostAssets());
    expect(e.message).toContain('You are not authorized to access the application through the API.');
    expect(e.fix).toContain('Read Asset');
  });

  it('includes the errorResolution Qualys suggests', async () => {
    fake.route = () => xml(fixture('qps-invalid-request.xml'), 200, {});
    const e = await failure(client.countHostAssets());
    expect(e.message).toContain('Specify criteria value(s) as Long.');
  });

  it('an unknown responseCode → server, retryable', async () => {
    fake.route = () => xml(fixture('qps-unauthorized.xml').replace('UNAUTHORIZED', 'OTHER_FAILURE'), 200, {});
    expectKind(await failure(client.countHostAssets()), 'server', true);
  });

  it('hasMoreRecords without lastId → malformed-response', async () => {
    fake.route = () => xml(fixture('hostasset-page1.xml').replace(/<lastId>\d+<\/lastId>/, ''), 200, {});
    expectKind(await failure(client.searchHostAssets({ idMin: 1, idMax: 500 })), 'malformed-response', true);
  });
});

describe('transport failures', () => {
  it('a connection reset before any answer, every time → network, retryable, after one resend', async () => {
    fake.route = () => (_res, req) => req.socket.destroy();
    const e = await failure(client.listHostIds());
    expectKind(e, 'network', true);
    expect(e.networkCode).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expect(fake.requests).toHaveLength(2);
  });

  it('a connection closed before answering once (a kept-alive connection gone stale) is sent again at once: one call, no failure', async () => {
    let resets = 0;
    fake.route = () => (res, req) => {
      if (resets++ === 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(fixture('host-list-ids.xml'));
    };
    const calls: Array<{ ok: boolean }> = [];
    await expect(client.listHostIds({}, { onCall: (call) => calls.push(call) })).resolves.not.toHaveLength(0);
    expect(fake.requests).toHaveLength(2);
    expect(calls).toEqual([expect.objectContaining({ ok: true })]);
  });

  it('a connection dropped mid-body → network, retryable', async () => {
    const body = fixture('detections-page1.xml');
    fake.route = () => (res) => {
      res.writeHead(200, { 'Content-Type': 'text/xml', 'Content-Length': String(Buffer.byteLength(body)) });
      res.write(body.slice(0, 500));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    expectKind(await failure(client.listDetections({ idMin: 1, idMax: 2 })), 'network', true);
  });

  it('an unreachable port → network (ECONNREFUSED), retryable', async () => {
    const closed = await startFakeQualys(() => xml(''));
    const url = closed.url;
    await closed.close();
    const unreachable = new QualysClient({ apiUrl: url, username: USERNAME, password: PASSWORD });
    const e = await failure(unreachable.listHostIds());
    await unreachable.close();
    expectKind(e, 'network', true);
    expect(e.networkCode).toBe('ECONNREFUSED');
  });

  it('no response headers within the timeout → network, retryable', async () => {
    const slow = new QualysClient({ apiUrl: fake.url, username: USERNAME, password: PASSWORD, timeouts: { headersMs: 150 } });
    fake.route = () => () => undefined; // never answers
    const e = await failure(slow.listHostIds());
    await slow.close();
    expectKind(e, 'network', true);
    expect(e.networkCode).toBe('UND_ERR_HEADERS_TIMEOUT');
  });

  it('an unknown host name → network, not retryable (a typo in the URL)', async () => {
    const typo = new QualysClient({ apiUrl: 'https://qualysapi.no-such-pod.invalid', username: USERNAME, password: PASSWORD });
    const e = await failure(typo.listHostIds());
    await typo.close();
    expect(e.kind).toBe('network');
    // Resolvers without network access may answer EAI_AGAIN instead (then it is, rightly, retryable).
    if (e.networkCode === 'ENOTFOUND') expect(e.retryable).toBe(false);
    else expect(e.networkCode).toBe('EAI_AGAIN');
  });

  it('an aborted call rejects with the abort reason, not a Qualys error', async () => {
    fake.route = () => () => undefined;
    const controller = new AbortController();
    const call = client.listHostIds({}, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('activity cancelled')), 30);
    await expect(call).rejects.toThrow('activity cancelled');
  });

  it('the client-wide signal aborts too', async () => {
    fake.route = () => () => undefined;
    const controller = new AbortController();
    const cancellable = new QualysClient({ apiUrl: fake.url, username: USERNAME, password: PASSWORD }, { signal: controller.signal });
    const call = cancellable.listHostIds();
    setTimeout(() => controller.abort(), 30);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await cancellable.close();
  });
});

describe('secrets', () => {
  it('masks the password even if Qualys echoes it', async () => {
    fake.route = () => xml(fixture('simple-return-1905.xml').replace('abc123 (neither', `${PASSWORD} (neither`), 400);
    const e = await failure(client.knowledgeBase(['1']));
    expect(e.message).toContain('***');
  });

  it.each([
    ['percent-encoded', encodeURIComponent(PASSWORD)],
    ['form-encoded, lower-case hex', new URLSearchParams({ p: PASSWORD }).toString().slice(2).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())],
    ['as character references', [...PASSWORD].map((c) => `&amp;#${c.codePointAt(0)};`).join('')],
    ['base64', Buffer.from(PASSWORD).toString('base64')],
    ['the Basic token', `Authorization: Basic ${BASIC_TOKEN}`],
  ])('masks the password echoed %s by a 500', async (_how, echoed) => {
    fake.route = () => xml(fixture('simple-return-1905.xml').replace('abc123 (neither', `${echoed} (neither`), 500);
    const e = await failure(client.knowledgeBase(['1']));
    expect(e.message).toContain('*** (neither');
    for (const text of [e.message, e.qualysText ?? '', JSON.stringify(e)]) {
      expect(text).not.toContain(echoed.replace('&amp;', '&'));
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('never puts the password or the Basic token in any error seen in these tests', () => {
    expect(seen.length).toBeGreaterThan(25);
    for (const error of seen) {
      for (const text of [error.message, error.stack ?? '', error.fix ?? '', JSON.stringify(error), inspect(error, { depth: 5 }), String(error)]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(BASIC_TOKEN);
      }
    }
  });

  it('keeps the password out of the client object and invalid-settings errors', () => {
    expect(inspect(client, { depth: 5, showHidden: true })).not.toContain(PASSWORD);
    expect(JSON.stringify(client)).not.toContain(PASSWORD);
    let error: unknown;
    try {
      new QualysClient({ apiUrl: '', username: USERNAME, password: PASSWORD });
    } catch (e) {
      error = e;
    }
    expect(isQualysError(error) && error.kind).toBe('config');
    expect(JSON.stringify(error) + String((error as Error).stack)).not.toContain(PASSWORD);
  });
});
