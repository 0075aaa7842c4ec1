import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { QualysClient } from '../../src/qualys/client';
import { fixture, fixturePath, startFakeQualys, xml, type FakeQualys } from './fixtures/qualys/fake-qualys';
import { qualysFailure } from './fixtures/qualys/qualys-failure';

const credentials = { username: 'acme_ab12', password: 'tls-test-password' };
const FAKE_HOST = 'qualysapi.connector.test';

let qualys: FakeQualys;

beforeAll(async () => {
  const server = https.createServer({
    key: readFileSync(fixturePath('test-server.key')),
    cert: readFileSync(fixturePath('test-server.pem')),
  });
  qualys = await startFakeQualys(() => xml(fixture('host-list-ids.xml')), { server });
});

afterAll(async () => {
  await qualys.close();
});

const failure = qualysFailure;

/** A CONNECT proxy that tunnels every target to the fake Qualys, recording what was asked for. */
async function startConnectProxy(options: { requireAuth?: boolean } = {}) {
  const targets: string[] = [];
  const server = http.createServer();
  server.on('connect', (req: http.IncomingMessage, clientSocket: net.Socket, head: Buffer) => {
    targets.push(req.url ?? '');
    if (options.requireAuth) {
      clientSocket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const upstream = net.connect(qualys.port, '127.0.0.1', () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    upstream.on('error', () => clientSocket.destroy());
    clientSocket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('TLS', () => {
  it('refuses a certificate from an unknown CA, as a non-retryable network error', async () => {
    const client = new QualysClient({ apiUrl: qualys.url, ...credentials });
    const e = await failure(client.listHostIds());
    await client.close();
    expect(e.kind).toBe('network');
    expect(e.retryable).toBe(false);
    expect(e.fix).toContain('caFile');
  });

  it('trusts an extra CA bundle given as caFile', async () => {
    const client = new QualysClient({ apiUrl: qualys.url, ...credentials, caFile: fixturePath('test-ca.pem') });
    await expect(client.listHostIds()).resolves.toHaveLength(8);
    await client.close();
  });

  it('rejects an unreadable or non-PEM caFile as a config error', () => {
    const missing = () => new QualysClient({ apiUrl: qualys.url, ...credentials, caFile: '/nonexistent/ca.pem' });
    expect(missing).toThrow(expect.objectContaining({ kind: 'config', retryable: false }));
    const notPem = () => new QualysClient({ apiUrl: qualys.url, ...credentials, caFile: fixturePath('host-list-ids.xml') });
    expect(notPem).toThrow(/no PEM certificate/);
  });
});

describe('proxy', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('tunnels through an explicit proxy URL, TLS verified against the real host name', async () => {
    const proxy = await startConnectProxy();
    const client = new QualysClient({
      apiUrl: `https://${FAKE_HOST}:${qualys.port}`,
      ...credentials,
      caFile: fixturePath('test-ca.pem'),
      proxyUrl: proxy.url,
    });
    await expect(client.listHostIds()).resolves.toHaveLength(8);
    await client.close();
    await proxy.close();
    expect(proxy.targets).toEqual([`${FAKE_HOST}:${qualys.port}`]);
  });

  it('honours HTTPS_PROXY from the environment', async () => {
    const proxy = await startConnectProxy();
    process.env.HTTPS_PROXY = proxy.url;
    const client = new QualysClient({ apiUrl: `https://${FAKE_HOST}:${qualys.port}`, ...credentials, caFile: fixturePath('test-ca.pem') });
    await expect(client.listHostIds()).resolves.toHaveLength(8);
    await client.close();
    await proxy.close();
    expect(proxy.targets).toHaveLength(1);
  });

  it('honours NO_PROXY (the host is then resolved directly, and does not exist)', async () => {
    const proxy = await startConnectProxy();
    process.env.HTTPS_PROXY = proxy.url;
    process.env.NO_PROXY = `.connector.test`;
    const client = new QualysClient({ apiUrl: `https://${FAKE_HOST}:${qualys.port}`, ...credentials, caFile: fixturePath('test-ca.pem') });
    const e = await failure(client.listHostIds());
    await client.close();
    await proxy.close();
    expect(proxy.targets).toEqual([]);
    expect(e.kind).toBe('network');
  });

  it('never proxies loopback addresses (the simulator)', async () => {
    const local = await startFakeQualys(() => xml(fixture('host-list-empty.xml')));
    process.env.HTTP_PROXY = 'http://127.0.0.1:9'; // would fail if used
    const client = new QualysClient({ apiUrl: local.url, ...credentials });
    await expect(client.listHostIds()).resolves.toEqual([]);
    await client.close();
    await local.close();
  });

  it('a proxy demanding authentication → network error, not retryable', async () => {
    const proxy = await startConnectProxy({ requireAuth: true });
    const client = new QualysClient({
      apiUrl: `https://${FAKE_HOST}:${qualys.port}`,
      ...credentials,
      caFile: fixturePath('test-ca.pem'),
      proxyUrl: proxy.url,
    });
    const e = await failure(client.listHostIds());
    await client.close();
    await proxy.close();
    expect(e.kind).toBe('network');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('407');
  });
});
