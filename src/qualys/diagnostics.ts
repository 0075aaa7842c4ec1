import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { isLoopbackHost, resolveApiBaseUrl } from './base-url';
import { QualysClient, type QualysCallOptions, type QualysConnection } from './client';
import { endpointInfo, type QualysEndpoint } from './endpoints';
import { QualysConfigError, isQualysError, type QualysError } from './errors';
import { hostAssetCountRequest } from './qps-request';

/**
 * The checks behind `npm run doctor`: can the connector work with these settings, and if not, why?
 * Each check says what it found, the fix in plain words when it failed, and the `curl` command that
 * reproduces it with the password replaced by the environment variable that holds it (or, when no
 * variable does, left for curl to prompt for).
 */
export type CheckId =
  | 'url'
  | 'dns'
  | 'tls'
  | 'authentication'
  | 'hostList'
  | 'hostDetection'
  | 'knowledgeBase'
  | 'hostAsset'
  | 'limits';

export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  title: string;
  verdict: Verdict;
  detail: string;
  fix?: string;
  curl?: string;
}

export interface DiagnoseOptions {
  /** Leaves out the network checks that cannot pass through an HTTP proxy (DNS, direct TLS). */
  viaProxy?: boolean;
  /**
   * The environment variable that holds this connection's password; curl lines name it. Without one
   * (the password came from elsewhere) curl lines give only the user name, and curl asks for the password.
   */
  passwordEnv?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type ProbeClient = Pick<QualysClient, 'listHostIdSet' | 'knowledgeBase' | 'countHostAssets'>;

/** QID 6, "DNS Host Name", is in every subscription's KnowledgeBase. */
export const PROBE_QID = '6';

/**
 * The smallest calls that prove the connector can work: login (and API v2 access), the KnowledgeBase,
 * and Asset Management. The doctor runs them, and so does every run's credentials check.
 */
export const accessProbes = {
  // Its answer's DATETIME is Qualys' time at the start of a run: the run's watermark.
  authentication: (client: ProbeClient, call?: QualysCallOptions) => client.listHostIdSet({ idMin: 1, idMax: 1 }, {}, call),
  knowledgeBase: (client: ProbeClient, call?: QualysCallOptions) => client.knowledgeBase([PROBE_QID], call),
  hostAsset: (client: ProbeClient, call?: QualysCallOptions) => client.countHostAssets({}, call),
} as const;

const TITLES: Readonly<Record<CheckId, string>> = {
  url: 'API URL',
  dns: 'DNS',
  tls: 'Reachability (TLS)',
  authentication: 'Authentication',
  hostList: 'Host List API',
  hostDetection: 'Host List Detection API',
  knowledgeBase: 'KnowledgeBase API',
  hostAsset: 'Asset Management API (hostasset)',
  limits: 'Subscription API limits',
};

/** Runs the checks in order, yielding each result as soon as it is known. */
export async function* diagnose(connection: QualysConnection, options: DiagnoseOptions = {}): AsyncGenerator<CheckResult> {
  const result = (id: CheckId, verdict: Verdict, detail: string, extra: { fix?: string; curl?: string } = {}): CheckResult => ({
    id,
    title: TITLES[id],
    verdict,
    detail,
    ...extra,
  });

  // 1. The URL itself: the UI host and other common mistakes are caught before any network call.
  let baseUrl: string;
  try {
    const resolved = resolveApiBaseUrl(connection.apiUrl, { allowPlainHttp: connection.allowPlainHttp });
    baseUrl = resolved.baseUrl;
    const host = new URL(baseUrl).hostname;
    if (resolved.pod) yield result('url', 'pass', `${baseUrl} is the API server of Qualys platform ${resolved.pod}`);
    else if (isLoopbackHost(host)) yield result('url', 'pass', `${baseUrl} (a local server, e.g. the simulator)`);
    else
      yield result('url', 'warn', `${baseUrl} is not one of the shared Qualys platforms`, {
        fix: 'Fine for a private cloud platform; otherwise check Help → About in the Qualys UI for the API URL.',
      });
  } catch (err) {
    yield result('url', 'fail', describe(err), { fix: fixOf(err) });
    for (const id of ['dns', 'tls', 'authentication', 'hostList', 'hostDetection', 'knowledgeBase', 'hostAsset', 'limits'] as const) {
      yield result(id, 'skip', 'skipped: the API URL must be fixed first');
    }
    return;
  }
  const url = new URL(baseUrl);
  const credentials = curlCredentials(connection.username, options.passwordEnv);
  const curl = curlBuilder(baseUrl, credentials);

  // 2–3. Can this machine reach it at all?
  let reachable = true;
  if (options.viaProxy) {
    yield result('dns', 'skip', 'skipped: requests go through the configured proxy, which resolves the host');
    yield result('tls', 'skip', 'skipped: requests go through the configured proxy');
  } else {
    try {
      const { address } = await lookup(url.hostname);
      yield result('dns', 'pass', `${url.hostname} resolves to ${address}`);
    } catch (err) {
      reachable = false;
      yield result('dns', 'fail', `${url.hostname} does not resolve (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
        fix: 'Check the host name for typos, and this machine\'s DNS. If outbound traffic must use a proxy, set HTTPS_PROXY.',
        curl: `getent hosts ${url.hostname}`,
      });
    }
    if (reachable) {
      const check = await checkReachable(url, connection.caFile);
      reachable = check.ok;
      yield result('tls', check.ok ? 'pass' : 'fail', check.detail, {
        fix: check.fix,
        curl: `curl -sS -o /dev/null -w '%{http_code}\\n' ${url.protocol === 'https:' ? '-v ' : ''}'${baseUrl}/'`,
      });
    } else {
      yield result('tls', 'skip', 'skipped: the host does not resolve');
    }
  }
  if (!reachable) {
    for (const id of ['authentication', 'hostList', 'hostDetection', 'knowledgeBase', 'hostAsset', 'limits'] as const) {
      yield result(id, 'skip', 'skipped: the API server is not reachable');
    }
    return;
  }

  // 4–8. The calls the connector makes, each as small as it can be.
  const client = new QualysClient(connection);
  try {
    const authCurl = curl('hostList', { action: 'list', details: 'None', truncation_limit: '0', ids: '1' });
    try {
      await accessProbes.authentication(client);
      yield result('authentication', 'pass', `logged in as ${connection.username}`, { curl: authCurl });
    } catch (err) {
      yield result('authentication', 'fail', describe(err), { fix: fixOf(err), curl: authCurl });
      for (const id of ['hostList', 'hostDetection', 'knowledgeBase', 'hostAsset', 'limits'] as const) {
        yield result(id, 'skip', 'skipped: authentication must pass first');
      }
      return;
    }

    let firstHostId: number | undefined;
    const hostListCurl = curl('hostList', { action: 'list', details: 'None', truncation_limit: '0' });
    try {
      const ids = await client.listHostIds();
      firstHostId = ids[0];
      yield ids.length > 0
        ? result('hostList', 'pass', `${ids.length} hosts visible to ${connection.username}`, { curl: hostListCurl })
        : result('hostList', 'warn', `no hosts are visible to ${connection.username}`, {
            fix: 'A Reader or Scanner sees only the hosts of its asset groups: give the user the Manager role, or add the asset groups to its scope.',
            curl: hostListCurl,
          });
    } catch (err) {
      yield result('hostList', 'fail', describe(err), { fix: fixOf(err), curl: hostListCurl });
    }

    const probe = firstHostId ?? 1;
    const detectionCurl = curl('hostDetection', { action: 'list', ids: String(probe), show_results: '0', truncation_limit: '1' });
    yield await probeCall('hostDetection', detectionCurl, async () => {
      const hosts = await client.listDetections({ idMin: probe, idMax: probe });
      return `answers (${hosts.reduce((n, h) => n + h.detections.length, 0)} detections on host ${probe})`;
    });

    const kbCurl = curl('knowledgeBase', { action: 'list', ids: PROBE_QID, details: 'Basic' });
    yield await probeCall('knowledgeBase', kbCurl, async () => {
      const vulns = await accessProbes.knowledgeBase(client);
      return `answers (QID ${PROBE_QID}: ${vulns[0]?.title ?? 'not in this KnowledgeBase'})`;
    });

    const qpsCurl =
      `curl -sS -u ${credentials} -H 'X-Requested-With: curl' ` +
      `-H 'Content-Type: text/xml' -X POST '${baseUrl}${endpointInfo.hostAssetCount.path}' ` +
      `--data '${hostAssetCountRequest({})}'`;
    yield await probeCall('hostAsset', qpsCurl, async () => {
      const count = await accessProbes.hostAsset(client);
      return `answers (${count} host assets)`;
    });

    const limits = client.subscriptionLimits();
    if (!limits || limits.rateLimit === undefined) {
      yield result('limits', 'warn', 'Qualys sent no X-RateLimit headers; the connector assumes the Standard tier (2 concurrent, 300 calls per hour)');
    } else {
      const window = limits.rateWindowSeconds === 3600 ? 'hour' : `${limits.rateWindowSeconds ?? '?'} s`;
      const detail =
        `${limits.rateLimit} calls per ${window} (${limits.rateRemaining ?? '?'} left), ` +
        `${limits.concurrencyLimit ?? '?'} calls at once`;
      const low = limits.rateRemaining !== undefined && limits.rateRemaining < 20;
      yield result('limits', low ? 'warn' : 'pass', detail, {
        fix: low ? `Only ${limits.rateRemaining} calls are left in this window; a run now may wait for the window to roll.` : undefined,
      });
    }
  } finally {
    await client.close();
  }
}

/** Whether a check failing means the connector cannot work (the limits check only informs). */
export function isBlocking(check: CheckResult): boolean {
  return check.verdict === 'fail';
}

async function probeCall(id: 'hostDetection' | 'knowledgeBase' | 'hostAsset', curl: string, call: () => Promise<string>): Promise<CheckResult> {
  try {
    return { id, title: TITLES[id], verdict: 'pass', detail: await call(), curl };
  } catch (err) {
    return { id, title: TITLES[id], verdict: 'fail', detail: describe(err), fix: fixOf(err), curl };
  }
}

interface Reachability {
  ok: boolean;
  detail: string;
  fix?: string;
}

async function checkReachable(url: URL, caFile: string | undefined): Promise<Reachability> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const timeout = 10_000;
    const onError = (err: NodeJS.ErrnoException): void => {
      const certProblem = /CERT|certificate|SELF_SIGNED|UNABLE_TO/i.test(`${err.code} ${err.message}`);
      resolve({
        ok: false,
        detail: `${url.host}: ${err.message}`,
        fix: certProblem
          ? 'The server\'s certificate is not trusted here. If a TLS-inspecting proxy re-signs traffic, give its CA as caFile (QUALYS_CA_FILE).'
          : 'Check that outbound HTTPS to this host is allowed (firewall, proxy: set HTTPS_PROXY if one is required).',
      });
    };
    if (url.protocol === 'http:') {
      const socket = net.connect({ host: url.hostname, port, timeout }, () => {
        socket.destroy();
        resolve({ ok: true, detail: `${url.host} accepts connections (plain HTTP)` });
      });
      socket.on('error', onError);
      socket.on('timeout', () => {
        socket.destroy();
        onError(Object.assign(new Error(`no answer within ${timeout / 1000} s`), { code: 'ETIMEDOUT' }));
      });
      return;
    }
    const ca = caFile ? [...tls.rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
    const socket = tls.connect({ host: url.hostname, port, servername: url.hostname, ca, timeout }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve({ ok: true, detail: `${url.host}: TLS ${socket.getProtocol() ?? ''}, certificate valid until ${cert.valid_to ?? '?'}` });
    });
    socket.on('error', onError);
    socket.on('timeout', () => {
      socket.destroy();
      onError(Object.assign(new Error(`no answer within ${timeout / 1000} s`), { code: 'ETIMEDOUT' }));
    });
  });
}

function describe(err: unknown): string {
  return isQualysError(err) || err instanceof Error ? err.message : String(err);
}

function fixOf(err: unknown): string | undefined {
  return isQualysError(err) ? (err as QualysError).fix : undefined;
}

/**
 * The argument of curl's `-u`: the user and a reference to the variable holding the password, never
 * the password; without a variable, the user alone (curl then prompts for the password).
 */
function curlCredentials(username: string, passwordEnv: string | undefined): string {
  if (passwordEnv === undefined) return `"${shellDoubleQuoted(username)}"`;
  // Interpolated into a shell line: only a plain variable name may go there.
  if (!ENV_NAME.test(passwordEnv)) {
    throw new QualysConfigError(`passwordEnv "${passwordEnv.slice(0, 40)}" is not an environment variable name.`, 'Name the variable that holds the password, e.g. QUALYS_PROD_PASSWORD.');
  }
  return `"${shellDoubleQuoted(username)}:$${passwordEnv}"`;
}

/** `curl` for an API v2 call, as the connector makes it (form POST). */
function curlBuilder(baseUrl: string, credentials: string): (endpoint: QualysEndpoint, form: Record<string, string>) => string {
  return (endpoint, form) =>
    `curl -sS -u ${credentials} -H 'X-Requested-With: curl' ` +
    `'${baseUrl}${endpointInfo[endpoint].path}' --data '${new URLSearchParams(form).toString()}'`;
}

/** Escapes a value for use inside "…" in a POSIX shell. */
function shellDoubleQuoted(value: string): string {
  return value.replace(/(["\\$`])/g, '\\$1');
}
