/** How far into an HTML page its title is looked for. */
const TITLE_SCAN_CHARS = 64 * 1024;
const TITLE_MAX_CHARS = 200;

/**
 * For an HTML page (what a proxy, load balancer, portal or maintenance window serves): its <title>,
 * or '' when it has none. Undefined when the body is not HTML. Only the body's first 64 KiB are looked
 * at, with `indexOf`: a hostile page cannot make this slow.
 */
export function htmlPageTitle(body: string, contentType: string | undefined): string | undefined {
  const prefix = body.slice(0, TITLE_SCAN_CHARS);
  if (!looksLikeHtml(prefix, contentType)) return undefined;
  return htmlTitle(prefix);
}

/** The <title> of an HTML page's start ('' without one), found with `indexOf` in its first 64 KiB. */
export function htmlTitle(prefix: string): string {
  const lower = prefix.slice(0, TITLE_SCAN_CHARS).toLowerCase();
  const open = lower.indexOf('<title');
  if (open === -1) return '';
  const start = lower.indexOf('>', open);
  if (start === -1) return '';
  const end = lower.indexOf('<', start + 1);
  if (end === -1 || end - start - 1 > TITLE_MAX_CHARS) return '';
  if (!lower.startsWith('</title', end)) return '';
  return prefix.slice(start + 1, end).trim();
}

/** An HTML page by its Content-Type, or by how it starts (its DOCTYPE or first element). */
function looksLikeHtml(prefix: string, contentType: string | undefined): boolean {
  if (contentType !== undefined && /\btext\/html\b/i.test(contentType)) return true;
  const head = prefix.replace(/^\uFEFF/, '').trimStart().slice(0, 512).toLowerCase();
  return /^(<\?xml[^>]*>\s*)?<!doctype html/.test(head) || /^<(html|head|body)[\s>]/.test(head);
}
