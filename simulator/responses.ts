/**
 * Reply bodies shared by every endpoint: SIMPLE_RETURN errors, the 409 limit bodies, Qualys'
 * GENERIC_RETURN internal error, and the HTML pages a proxy or a maintenance window serves.
 */
import { formatQualysDateTime } from './dates';
import { XmlWriter } from './xml';

export const XML_CONTENT_TYPE = 'text/xml;charset=UTF-8';
export const LATIN1_XML_CONTENT_TYPE = 'text/xml;charset=ISO-8859-1';
export const QPS_CONTENT_TYPE = 'application/xml';
export const HTML_CONTENT_TYPE = 'text/html; charset=iso-8859-1';

/** What an endpoint handler answers; the server adds limit headers, latency and faults. */
export interface ApiReply {
  status: number;
  contentType: string;
  body: string;
  /** How the body goes on the wire; UTF-8 unless the document declares ISO-8859-1. */
  charset?: 'utf-8' | 'latin1';
  headers?: Record<string, string>;
  /** Qualys CODE or QPS responseCode, for the request log. */
  code?: string;
  /** Key into `errorsServed` when the reply is an error, e.g. "400/1905". */
  errorKey?: string;
}

export interface SimpleReturnItem {
  key: string;
  value: string | number;
}

/** `SIMPLE_RETURN/RESPONSE` (DATETIME, CODE, TEXT, ITEM_LIST?) with the simple_return.dtd DOCTYPE. */
export function simpleReturn(baseUrl: string, code: string, text: string, items: SimpleReturnItem[] = []): string {
  const xml = new XmlWriter({ doctype: { root: 'SIMPLE_RETURN', systemUrl: `${baseUrl}/api/2.0/simple_return.dtd` } });
  xml.start('SIMPLE_RETURN').start('RESPONSE');
  xml.text('DATETIME', formatQualysDateTime(Date.now()));
  xml.text('CODE', code);
  xml.text('TEXT', text);
  if (items.length > 0) {
    xml.start('ITEM_LIST');
    for (const item of items) xml.start('ITEM').text('KEY', item.key).text('VALUE', item.value).end();
    xml.end();
  }
  xml.end().end();
  return xml.toString();
}

export function simpleReturnReply(
  baseUrl: string,
  status: number,
  code: string,
  text: string,
  items: SimpleReturnItem[] = [],
): ApiReply {
  return {
    status,
    contentType: XML_CONTENT_TYPE,
    body: simpleReturn(baseUrl, code, text, items),
    code,
    errorKey: `${status}/${code}`,
  };
}

function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * "23 hours, 57 minutes and 54 seconds" as in the documented 1965 TEXT.
 * Assumption: zero leading units are left out ("3 minutes and 4 seconds", "54 seconds").
 */
export function describeWait(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(plural(hours, 'hour', 'hours'));
  if (hours > 0 || minutes > 0) parts.push(plural(minutes, 'minute', 'minutes'));
  parts.push(plural(seconds, 'second', 'seconds'));
  if (parts.length === 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
}

/** HTTP 409 CODE 1960: the concurrency limit. */
export function concurrencyLimitReply(baseUrl: string, callsToFinish: number): ApiReply {
  const text =
    callsToFinish === 1
      ? 'This API cannot be run again until 1 currently running API instance has finished.'
      : `This API cannot be run again until ${callsToFinish} currently running API instances have finished.`;
  return simpleReturnReply(baseUrl, 409, '1960', text, [{ key: 'CALLS_TO_FINISH', value: callsToFinish }]);
}

/** HTTP 409 CODE 1965: the rate limit (assumption: 409, as the header page says, not the "400" typo). */
export function rateLimitReply(baseUrl: string, secondsToWait: number): ApiReply {
  return simpleReturnReply(
    baseUrl,
    409,
    '1965',
    `This API cannot be run again for another ${describeWait(secondsToWait)}.`,
    [{ key: 'SECONDS_TO_WAIT', value: secondsToWait }],
  );
}

/** Qualys' internal error (CODE 999) comes as GENERIC_RETURN rather than SIMPLE_RETURN (reference §8). */
export function internalErrorReply(baseUrl: string, apiPath: string, username: string): ApiReply {
  const xml = new XmlWriter({ doctype: { root: 'GENERIC_RETURN', systemUrl: `${baseUrl}/generic_return.dtd` } });
  xml.start('GENERIC_RETURN');
  xml.empty('API', { name: apiPath, username, at: formatQualysDateTime(Date.now()) });
  xml.text('RETURN', 'Internal error. Please contact customer support.', { status: 'FAILED', number: '999' });
  xml.end();
  return { status: 500, contentType: XML_CONTENT_TYPE, body: xml.toString(), code: '999', errorKey: '500' };
}

/** Assumption: a 503 during maintenance is a plain HTML page, not XML. */
export function maintenanceReply(): ApiReply {
  const body =
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>503 Service Unavailable</title>\n</head><body>\n' +
    '<h1>Service Unavailable</h1>\n<p>The Qualys Cloud Platform is undergoing scheduled maintenance. Please try again later.</p>\n</body></html>\n';
  return { status: 503, contentType: HTML_CONTENT_TYPE, body, errorKey: '503' };
}

/** What a reverse proxy or load balancer in front of the API answers when the backend is unreachable. */
export function proxyErrorPageReply(status: 502 | 503 | 504): ApiReply {
  const reason = status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Temporarily Unavailable' : 'Gateway Time-out';
  const body =
    `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n<center><h1>${status} ${reason}</h1></center>\r\n` +
    '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
  return { status, contentType: 'text/html', body, code: 'html', errorKey: `html/${status}` };
}

export function notFoundReply(): ApiReply {
  const body = '<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n';
  return { status: 404, contentType: 'text/html', body, errorKey: '404' };
}
