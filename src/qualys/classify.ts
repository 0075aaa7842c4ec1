import { z } from 'zod';
import { qualysPlatforms } from './base-url';
import { endpointInfo } from './endpoints';
import { QualysError, type QualysErrorKind } from './errors';
import { parseDocument } from './parse-document';
import type { ServiceResponse } from './parse-service-response';
import type { SubscriptionLimits } from './schemas';
import { readAttribute, text, list, node } from './xml-values';
import type { XmlContext, XmlDocument } from './xml';

/** What we know about one HTTP exchange when deciding what went wrong. */
export interface ResponseContext extends XmlContext {
  baseUrl: string;
  pod?: string;
  /** Limit headers of this response. */
  limits?: SubscriptionLimits;
  /** `Location` header, for redirects. */
  location?: string;
}

export const SIMPLE_RETURN_ROOT = 'SIMPLE_RETURN';
export const GENERIC_RETURN_ROOT = 'GENERIC_RETURN';

const simpleReturnSchema = z.object({
  RESPONSE: z.object({
    DATETIME: text,
    CODE: text,
    TEXT: text,
    ITEM_LIST: node({ ITEM: list(z.object({ KEY: text, VALUE: text })) }),
  }),
});

const genericReturnSchema = z.object({ RETURN: z.unknown() });

const badRequestCodes = new Set(['1901', '1903', '1904', '1905', '1907', '1908', '1922']);

/**
 * API v2 error documents: SIMPLE_RETURN (CODE/TEXT/ITEM_LIST) or, for internal errors, GENERIC_RETURN.
 * Classified by CODE first (1965 arrives as 409 or 400), then by HTTP status. Undefined for other roots.
 */
export function errorFromApiDocument(document: XmlDocument, context: ResponseContext): QualysError | undefined {
  if (document.rootName === GENERIC_RETURN_ROOT) {
    const { RETURN } = parseDocument(genericReturnSchema, document, GENERIC_RETURN_ROOT, context);
    const returned = text.safeParse(RETURN);
    const code = readAttribute(RETURN, 'number') ?? '999';
    return classified(code, returned.success ? returned.data : undefined, new Map(), context);
  }
  if (document.rootName !== SIMPLE_RETURN_ROOT) return undefined;

  const { RESPONSE } = parseDocument(simpleReturnSchema, document, SIMPLE_RETURN_ROOT, context);
  const items = new Map<string, string>();
  for (const item of RESPONSE.ITEM_LIST?.ITEM ?? []) {
    if (item.KEY !== undefined && item.VALUE !== undefined) items.set(item.KEY, item.VALUE);
  }
  if (RESPONSE.CODE === undefined) {
    // A SIMPLE_RETURN without CODE is no answer to a list call.
    return errorForHttpStatus(context) ?? malformedSimpleReturn(RESPONSE.TEXT, context);
  }
  return classified(RESPONSE.CODE, RESPONSE.TEXT, items, context);
}

function classified(
  code: string,
  qualysText: string | undefined,
  items: ReadonlyMap<string, string>,
  context: ResponseContext,
): QualysError {
  const said = `HTTP ${context.httpStatus}, CODE ${code}${qualysText ? `: "${qualysText}"` : ''}`;
  const common = { endpoint: context.endpoint, httpStatus: context.httpStatus, qualysCode: code, qualysText };
  const title = endpointInfo[context.endpoint].title;

  if (code === '2000') return authenticationError(said, common, context);
  if (code === '1960' || code === '1920') return concurrencyError(said, common, context, items.get('CALLS_TO_FINISH'));
  if (code === '1965') return rateLimitError(said, common, context, items.get('SECONDS_TO_WAIT'), qualysText);
  if (code === '999') {
    return new QualysError({
      ...common,
      kind: 'server',
      message: `${title} failed inside Qualys (${said}).`,
      fix: 'Qualys internal errors are usually transient; the call can be retried later.',
    });
  }
  if (badRequestCodes.has(code)) return badRequestError(said, common, title);
  // Codes 2001–2099 are about the login/account (2001: "This account has expired.").
  if (/^20\d\d$/.test(code)) {
    return code !== '2001' && context.endpoint === 'knowledgeBase'
      ? knowledgeBasePermissionError(said, common)
      : accountError(said, common, title);
  }
  if (context.httpStatus >= 500) {
    return new QualysError({ ...common, kind: 'server', message: `${title} failed inside Qualys (${said}).` });
  }
  return badRequestError(said, common, title);
}

/** QPS reports errors inside an HTTP 200 ServiceResponse. Undefined on SUCCESS. */
export function errorFromServiceResponse(response: ServiceResponse, context: ResponseContext): QualysError | undefined {
  const code = response.responseCode;
  if (code === 'SUCCESS') return undefined;
  const details = response.responseErrorDetails;
  const qualysText = details?.errorMessage;
  const said = `responseCode ${code}${qualysText ? `: "${qualysText}"` : ''}${
    details?.errorResolution ? ` — Qualys suggests: "${details.errorResolution}"` : ''
  }`;
  const common = { endpoint: context.endpoint, httpStatus: context.httpStatus, qualysCode: code, qualysText };
  const title = endpointInfo[context.endpoint].title;

  if (code === 'INVALID_CREDENTIALS') return authenticationError(said, common, context);
  if (code === 'UNAUTHORIZED') {
    return new QualysError({
      ...common,
      kind: 'permission',
      message: `The Qualys user may not use the ${title} API (${said}).`,
      fix:
        'Give the user a role with "API Access" and the Asset Management permission "Read Asset" ' +
        '(Administration → User Management → Roles and Scopes), or use a Manager with full scope.',
    });
  }
  if (code === 'EVALUATION_EXPIRED') {
    return new QualysError({
      ...common,
      kind: 'permission',
      message: `The Qualys subscription's evaluation has expired; ${title} is no longer available (${said}).`,
      fix: 'Contact your Qualys account manager to convert or extend the subscription.',
    });
  }
  if (code.startsWith('INVALID_')) return badRequestError(said, common, title);
  return new QualysError({
    ...common,
    kind: 'server',
    message: `${title} failed (${said}).`,
    fix: 'Usually transient; the call can be retried. If it persists, report it with this message.',
  });
}

/**
 * Statuses that say what happened whatever the body is (a proxy's HTML page included).
 * Undefined for statuses whose meaning depends on the body.
 */
export function errorForHttpStatus(context: ResponseContext): QualysError | undefined {
  const status = context.httpStatus;
  const title = endpointInfo[context.endpoint].title;
  const common = { endpoint: context.endpoint, httpStatus: status };
  const said = `HTTP ${status}`;

  if (status === 401) return authenticationError(said, common, context);
  if (status === 403) {
    return context.endpoint === 'knowledgeBase'
      ? knowledgeBasePermissionError(said, common)
      : accountError(said, common, title);
  }
  if (status === 409) {
    // No CODE to go by: the headers tell a spent rate budget from a full concurrency slot.
    const { rateRemaining, toWaitSeconds } = context.limits ?? {};
    return rateRemaining === 0 || (toWaitSeconds ?? 0) > 0
      ? rateLimitError(said, common, context, undefined, undefined)
      : concurrencyError(said, common, context, undefined);
  }
  if (status === 429) return rateLimitError(said, common, context, undefined, undefined);
  if (status === 404) {
    return new QualysError({
      ...common,
      kind: 'config',
      message: `${title} was not found under ${context.baseUrl} (HTTP 404): the API URL does not point at a Qualys API server.`,
      fix: 'Set the API URL to your platform\'s API host (qualysapi.…), as shown under Help → About in the Qualys UI.',
    });
  }
  if (status === 407) {
    return new QualysError({
      ...common,
      kind: 'config',
      message: `The HTTP proxy refused the request to ${title}: proxy authentication required (HTTP 407).`,
      fix: 'Give the proxy credentials in the proxy URL (http://user:password@proxy:port).',
    });
  }
  if (status >= 300 && status < 400) {
    return new QualysError({
      ...common,
      kind: 'config',
      message:
        `${title} answered with a redirect (HTTP ${status}${context.location ? ` to ${context.location}` : ''}); ` +
        'the Qualys API does not redirect, so the API URL is probably a web UI or portal address.',
      fix: 'Set the API URL to your platform\'s API host (qualysapi.…), as shown under Help → About in the Qualys UI.',
    });
  }
  return undefined;
}

/** What came back with a failed status, when it was not a Qualys error document. */
export type FailedBody =
  | { kind: 'empty' }
  | { kind: 'document'; rootName: string }
  /** A page from a proxy, load balancer or maintenance window; `title` is '' when it has none. */
  | { kind: 'html'; title: string }
  | { kind: 'not-xml' };

/**
 * Any other non-2xx status without a Qualys error document. A 5xx is a server error whatever the body
 * (the status is the fact; an HTML page only says who relayed it), so it stays retryable as such.
 */
export function errorForFailedStatus(context: ResponseContext, body: FailedBody): QualysError {
  const title = endpointInfo[context.endpoint].title;
  const status = context.httpStatus;
  const kind: QualysErrorKind = status >= 500 ? 'server' : 'bad-request';
  const hint = describeFailedBody(body);
  return new QualysError({
    kind,
    endpoint: context.endpoint,
    httpStatus: status,
    message: `${title} failed with HTTP ${status} (${hint}).`,
    fix:
      kind === 'server'
        ? status === 503
          ? 'Qualys answers 503 during scheduled maintenance; retry later.'
          : body.kind === 'html'
            ? 'Usually transient; the call can be retried later. If it persists, check the API URL and any proxy between the connector and Qualys.'
            : 'Usually transient; the call can be retried later.'
        : 'The request was refused as invalid; report this message (it is likely a connector bug).',
  });
}

function describeFailedBody(body: FailedBody): string {
  switch (body.kind) {
    case 'empty':
      return 'empty body';
    case 'document':
      return `a <${body.rootName}> document`;
    case 'html':
      return `an HTML page${body.title ? ` "${body.title}"` : ''} from a proxy, load balancer or maintenance window instead of XML`;
    case 'not-xml':
      return 'a body that is not well-formed XML';
  }
}

type Common = {
  endpoint: XmlContext['endpoint'];
  httpStatus: number;
  qualysCode?: string;
  qualysText?: string;
};

function authenticationError(said: string, common: Common, context: ResponseContext): QualysError {
  const title = endpointInfo[context.endpoint].title;
  const platform = qualysPlatforms.find((p) => p.pod === context.pod);
  const where = platform ? `${context.baseUrl} (platform ${platform.pod})` : context.baseUrl;
  return new QualysError({
    ...common,
    kind: 'authentication',
    message:
      `Qualys rejected the login on ${title} (${said}). Qualys gives this same answer for three different causes: ` +
      `(1) a wrong username or password; (2) a user without API access; (3) the wrong platform (POD) API URL — this connector used ${where}.`,
    fix:
      `(1) Check the password by logging in to the Qualys UI${platform ? ` at https://${platform.uiHost}` : ''}; ` +
      '(2) have a Manager tick "API" under the user\'s role (Users → edit user → User Role), and use a dedicated, non-SSO API user; ' +
      '(3) check that the API URL matches the one under Help → About in the Qualys UI.',
  });
}

function accountError(said: string, common: Common, title: string): QualysError {
  const fromStatus = common.qualysCode === undefined;
  return new QualysError({
    ...common,
    kind: 'account',
    message: fromStatus
      ? `Qualys refused the account on ${title} (${said}): the user account is inactive, or its licence or role does not allow this API` +
        (title === 'Host List Detection' ? ' (Auditors cannot use it).' : '.')
      : `Qualys refused the account on ${title} (${said}).`,
    fix: 'Log in to the Qualys UI as this user to see the account status; an expired, locked or inactive account must be re-enabled by a Qualys Manager or Qualys Support.',
  });
}

/**
 * Refusals on the KnowledgeBase alone: Qualys documents no dedicated code, but when Host List works
 * (the credentials check calls it first) a refused KnowledgeBase means the role may not use it.
 */
function knowledgeBasePermissionError(said: string, common: Common): QualysError {
  return new QualysError({
    ...common,
    kind: 'permission',
    message: `Qualys refused the KnowledgeBase API to this user (${said}); the role does not allow KnowledgeBase access (Auditors, for example, have none).`,
    fix: 'Use a Manager, or a Reader/Scanner role with API access: the KnowledgeBase is needed to map QIDs to CVEs.',
  });
}

function concurrencyError(
  said: string,
  common: Common,
  context: ResponseContext,
  callsToFinish: string | undefined,
): QualysError {
  const title = endpointInfo[context.endpoint].title;
  const { concurrencyLimit, concurrencyRunning } = context.limits ?? {};
  const running =
    concurrencyLimit !== undefined
      ? ` ${concurrencyRunning ?? '?'} of ${concurrencyLimit} allowed concurrent calls are running.`
      : '';
  const toFinish = callsToFinish !== undefined ? ` Qualys is waiting for ${callsToFinish} call(s) to finish.` : '';
  return new QualysError({
    ...common,
    kind: 'concurrency-limit',
    message: `Qualys concurrency limit reached on ${title} (${said}).${running}${toFinish}`,
    fix: `Retry once running calls finish, and keep concurrent Qualys calls at or below the subscription limit${
      concurrencyLimit !== undefined ? ` (${concurrencyLimit})` : ''
    }.`,
  });
}

function rateLimitError(
  said: string,
  common: Common,
  context: ResponseContext,
  secondsToWaitItem: string | undefined,
  qualysText: string | undefined,
): QualysError {
  const title = endpointInfo[context.endpoint].title;
  // The refusal's own ITEM first, then the header, then the human TEXT ("for another 2 hours, 3 minutes…").
  const candidates = [
    secondsToWaitItem !== undefined && /^\d+$/.test(secondsToWaitItem) ? Number(secondsToWaitItem) : undefined,
    context.limits?.toWaitSeconds,
    qualysText !== undefined ? secondsFromText(qualysText) : undefined,
  ].filter((n): n is number => n !== undefined && n > 0);
  const waitSeconds = candidates[0];
  const { rateLimit, rateWindowSeconds } = context.limits ?? {};
  const budget =
    rateLimit !== undefined ? ` The subscription allows ${rateLimit} calls per ${rateWindowSeconds ?? '?'} s to this API.` : '';
  return new QualysError({
    ...common,
    kind: 'rate-limit',
    waitSeconds,
    message: `Qualys rate limit reached on ${title} (${said}).${
      waitSeconds !== undefined ? ` Qualys asks to wait ${waitSeconds} s.` : ''
    }${budget}`,
    fix:
      waitSeconds !== undefined
        ? `Wait ${waitSeconds} s before calling ${title} again.`
        : `Wait before calling ${title} again (Qualys did not say how long).`,
  });
}

function badRequestError(said: string, common: Common, title: string): QualysError {
  return new QualysError({
    ...common,
    kind: 'bad-request',
    message: `${title} rejected the request (${said}).`,
    fix:
      common.qualysCode === '1901'
        ? 'A parameter is not supported, or not available to this user\'s role or licence; report this message.'
        : 'The request was refused as invalid; report this message (it is likely a connector bug).',
  });
}

function malformedSimpleReturn(qualysText: string | undefined, context: ResponseContext): QualysError {
  return new QualysError({
    kind: 'malformed-response',
    endpoint: context.endpoint,
    httpStatus: context.httpStatus,
    qualysText,
    message: `${endpointInfo[context.endpoint].title} returned a SIMPLE_RETURN without CODE (HTTP ${context.httpStatus})${
      qualysText ? `: "${qualysText}"` : ''
    } instead of a list.`,
  });
}

/** "…for another 23 hours, 57 minutes and 54 seconds." → 86274 */
function secondsFromText(qualysText: string): number | undefined {
  const units: Record<string, number> = { day: 86_400, hour: 3_600, minute: 60, second: 1 };
  let total = 0;
  let found = false;
  for (const match of qualysText.matchAll(/(\d+)\s*(day|hour|minute|second)s?/gi)) {
    total += Number(match[1]) * (units[(match[2] ?? '').toLowerCase()] ?? 0);
    found = true;
  }
  return found ? total : undefined;
}
