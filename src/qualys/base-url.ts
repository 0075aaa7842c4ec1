import { isIP } from 'node:net';
import { redactUserInfo } from '../config/secrets';
import { QualysConfigError } from './errors';

/** A Qualys shared platform ("POD"): where its classic API, its JWT gateway and its web UI live. */
export interface QualysPlatform {
  readonly pod: string;
  readonly apiHost: string;
  readonly gatewayHost: string;
  readonly uiHost: string;
}

// Source: reference/qualys-api.md §7 (qualysdk platform_picker, Qualys' own podPicker).
export const qualysPlatforms: readonly QualysPlatform[] = [
  platform('US1', 'qualysapi.qualys.com', 'gateway.qg1.apps.qualys.com', 'qualysguard.qualys.com'),
  platform('US2', 'qualysapi.qg2.apps.qualys.com', 'gateway.qg2.apps.qualys.com', 'qualysguard.qg2.apps.qualys.com'),
  platform('US3', 'qualysapi.qg3.apps.qualys.com', 'gateway.qg3.apps.qualys.com', 'qualysguard.qg3.apps.qualys.com'),
  platform('US4', 'qualysapi.qg4.apps.qualys.com', 'gateway.qg4.apps.qualys.com', 'qualysguard.qg4.apps.qualys.com'),
  platform('EU1', 'qualysapi.qualys.eu', 'gateway.qg1.apps.qualys.eu', 'qualysguard.qualys.eu'),
  platform('EU2', 'qualysapi.qg2.apps.qualys.eu', 'gateway.qg2.apps.qualys.eu', 'qualysguard.qg2.apps.qualys.eu'),
  platform('EU3', 'qualysapi.qg3.apps.qualys.it', 'gateway.qg3.apps.qualys.it', 'qualysguard.qg3.apps.qualys.it'),
  platform('IN1', 'qualysapi.qg1.apps.qualys.in', 'gateway.qg1.apps.qualys.in', 'qualysguard.qg1.apps.qualys.in'),
  platform('CA1', 'qualysapi.qg1.apps.qualys.ca', 'gateway.qg1.apps.qualys.ca', 'qualysguard.qg1.apps.qualys.ca'),
  platform('AE1', 'qualysapi.qg1.apps.qualys.ae', 'gateway.qg1.apps.qualys.ae', 'qualysguard.qg1.apps.qualys.ae'),
  platform('UK1', 'qualysapi.qg1.apps.qualys.co.uk', 'gateway.qg1.apps.qualys.co.uk', 'qualysguard.qg1.apps.qualys.co.uk'),
  platform('AU1', 'qualysapi.qg1.apps.qualys.com.au', 'gateway.qg1.apps.qualys.com.au', 'qualysguard.qg1.apps.qualys.com.au'),
  platform('KSA1', 'qualysapi.qg1.apps.qualysksa.com', 'gateway.qg1.apps.qualysksa.com', 'qualysguard.qg1.apps.qualysksa.com'),
];

function platform(pod: string, apiHost: string, gatewayHost: string, uiHost: string): QualysPlatform {
  return { pod, apiHost, gatewayHost, uiHost };
}

export interface ResolvedApiBaseUrl {
  /** `https://host[:port][/path]`, no trailing slash. */
  baseUrl: string;
  /** The shared platform, when the host is one of the known API hosts (e.g. 'US2'). */
  pod?: string;
}

export interface ResolveApiBaseUrlOptions {
  /**
   * Allow `http://` to a host other than loopback. Off by default: Basic auth over plain HTTP
   * hands the password to anyone on the path. Loopback (the simulator, tests) is always allowed.
   */
  allowPlainHttp?: boolean;
}

const EXAMPLE = 'qualysapi.qg2.apps.qualys.com';
const WHERE_TO_FIND =
  'The API URL of your subscription is shown in the Qualys UI under Help → About, and listed at https://www.qualys.com/platform-identification/.';

/**
 * Turns what a person typed as "the Qualys API URL" into a base URL the client can use, or explains
 * what is wrong with it. Accepts a bare host, a URL, a POD name ("US2"), or a private platform URL.
 */
export function resolveApiBaseUrl(input: string, options: ResolveApiBaseUrlOptions = {}): ResolvedApiBaseUrl {
  const trimmed = input.trim();
  if (trimmed === '') {
    throw new QualysConfigError(
      'The Qualys API URL is empty.',
      `Set it to your platform's API host, for example ${EXAMPLE}. ${WHERE_TO_FIND}`,
    );
  }

  const byPodName = qualysPlatforms.find((p) => p.pod === trimmed.toUpperCase());
  if (byPodName) return { baseUrl: `https://${byPodName.apiHost}`, pod: byPodName.pod };

  const url = parseUrl(trimmed);
  const host = url.hostname.toLowerCase();
  const shown = describeInput(url);

  if (url.username !== '' || url.password !== '') {
    throw new QualysConfigError(
      'The Qualys API URL contains a user name or password; credentials must not be part of the URL.',
      'Remove "user:password@" from the URL and set the username and password settings instead.',
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new QualysConfigError(
      `The Qualys API URL ${shown} contains a query string or fragment.`,
      `Use only the platform's base URL, for example https://${EXAMPLE}.`,
    );
  }

  const known = qualysPlatforms.find((p) => p.apiHost === host);
  refuseUiOrGatewayHost(host, shown);
  if (!known && !host.includes('.') && !isLoopbackHost(host)) {
    throw new QualysConfigError(
      `"${shown}" does not look like a Qualys API host.`,
      `Use your platform's API host, for example ${EXAMPLE}, or a POD name such as US2. ${WHERE_TO_FIND}`,
    );
  }

  if (url.protocol === 'http:' && !isLoopbackHost(host) && options.allowPlainHttp !== true) {
    throw new QualysConfigError(
      `The Qualys API URL ${shown} uses plain http://, which would send the password unencrypted.`,
      `Use https://${url.host}${trimPath(url.pathname)} (Qualys platforms only serve HTTPS).`,
    );
  }

  const path = trimPath(url.pathname);
  if (known && path !== '') {
    // The shared platforms serve the API at the root; a path here is a pasted API call URL.
    throw new QualysConfigError(
      `The Qualys API URL ${shown} includes the path "${path}".`,
      `Use just the platform's base URL: https://${known.apiHost}`,
    );
  }

  const baseUrl = `${url.protocol}//${url.host}${path}`;
  return known ? { baseUrl, pod: known.pod } : { baseUrl };
}

/** Loopback hosts: the local simulator and tests. Never proxied, plain HTTP allowed. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The platform a known API host belongs to. */
export function platformForApiHost(hostname: string): QualysPlatform | undefined {
  return qualysPlatforms.find((p) => p.apiHost === hostname.toLowerCase());
}

function parseUrl(trimmed: string): URL {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  let url: URL;
  try {
    url = new URL(hasScheme ? trimmed : `https://${trimmed}`);
  } catch {
    throw new QualysConfigError(
      `The Qualys API URL "${truncate(redactUserInfo(trimmed))}" is not a valid URL or host name.`,
      `Use your platform's API host, for example ${EXAMPLE}. ${WHERE_TO_FIND}`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new QualysConfigError(
      `The Qualys API URL must start with https:// (got ${url.protocol}//).`,
      `Use https://${EXAMPLE} or your platform's API host.`,
    );
  }
  if (url.hostname === '') {
    throw new QualysConfigError(
      `The Qualys API URL "${truncate(redactUserInfo(trimmed))}" has no host name.`,
      `Use your platform's API host, for example ${EXAMPLE}.`,
    );
  }
  return url;
}

/** People paste the UI host (qualysguard.…) or the JWT gateway host; both are wrong for this connector. */
function refuseUiOrGatewayHost(host: string, shown: string): void {
  const ui = qualysPlatforms.find((p) => p.uiHost === host);
  if (ui) {
    throw new QualysConfigError(
      `${host} is the Qualys web UI; the API host for that platform (${ui.pod}) is ${ui.apiHost}.`,
      `Set the API URL to https://${ui.apiHost}`,
    );
  }
  const gateway = qualysPlatforms.find((p) => p.gatewayHost === host);
  if (gateway) {
    throw new QualysConfigError(
      `${host} is the Qualys API gateway (token-based APIs such as CSAM); this connector uses the classic API host for that platform (${gateway.pod}), ${gateway.apiHost}.`,
      `Set the API URL to https://${gateway.apiHost}`,
    );
  }
  const [first, ...rest] = host.split('.');
  if ((first === 'qualysguard' || first === 'gateway') && rest.length >= 2) {
    const suggestion = `qualysapi.${rest.join('.')}`;
    const what = first === 'qualysguard' ? 'the Qualys web UI' : 'a Qualys API gateway (token-based APIs)';
    throw new QualysConfigError(
      `${shown} looks like ${what}, not the classic API host; the API host is usually ${suggestion}.`,
      `Set the API URL to https://${suggestion} (check it under Help → About in the Qualys UI).`,
    );
  }
}

function trimPath(pathname: string): string {
  return pathname.replace(/\/+$/, '');
}

function describeInput(url: URL): string {
  return `${url.protocol}//${url.host}${trimPath(url.pathname)}`;
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
