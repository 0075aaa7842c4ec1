import { z } from 'zod';
import { endpointInfo } from './endpoints';
import { malformed, type XmlContext } from './xml';
import { node, text } from './xml-values';

/** `RESPONSE/WARNING`: CODE 1980 + URL of the next page when a list response was truncated. */
export const warningSchema = node({ CODE: text, TEXT: text, URL: text });
export type ResponseWarning = z.output<typeof warningSchema>;

/**
 * The RESPONSE of an API v2 list output (Host List, Host List Detection, KnowledgeBase): `DATETIME`, the
 * answer's lists (`lists`: `HOST_LIST`, `VULN_LIST`, `ID_SET` …, each absent when nothing matched), and
 * the `WARNING` that says the answer was truncated.
 */
export function listOutputSchema<Lists extends z.ZodRawShape>(lists: Lists) {
  return z.object({ RESPONSE: z.object({ DATETIME: text, ...lists, WARNING: warningSchema }) });
}

export const TRUNCATION_WARNING_CODE = '1980';

/**
 * The `id_min` of the next page, or undefined when this was the last page. We re-issue our own
 * request with that `id_min` instead of following the URL verbatim: a POST's body parameters may
 * not be echoed in the URL. A truncation warning we cannot follow is an error, never a silent stop.
 */
export function nextPageIdMin(
  warning: ResponseWarning,
  currentIdMin: number | undefined,
  context: XmlContext,
): number | undefined {
  if (warning === undefined) return undefined;
  const isTruncation = warning.CODE === TRUNCATION_WARNING_CODE || warning.URL !== undefined;
  if (!isTruncation) return undefined; // Some other advisory warning: nothing to follow.

  const title = endpointInfo[context.endpoint].title;
  const idMin = warning.URL === undefined ? undefined : idMinFromUrl(warning.URL);
  if (idMin === undefined) {
    throw malformed(
      context,
      `${title} truncated its response (WARNING ${warning.CODE ?? 'without CODE'}: "${warning.TEXT ?? ''}") but gave no next-page URL with id_min.`,
    );
  }
  if (currentIdMin !== undefined && idMin <= currentIdMin) {
    // Following it would loop forever.
    throw malformed(
      context,
      `${title} pointed the next page at id_min=${idMin}, which does not advance past id_min=${currentIdMin}.`,
    );
  }
  return idMin;
}

function idMinFromUrl(url: string): number | undefined {
  const match = /[?&]id_min=(\d+)(?:&|$)/.exec(url.replace(/&amp;/g, '&'));
  if (!match?.[1]) return undefined;
  const idMin = Number(match[1]);
  return Number.isSafeInteger(idMin) ? idMin : undefined;
}
