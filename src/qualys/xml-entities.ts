/**
 * Entity references in Qualys text and attribute values. Decoded: XML's five, numeric character
 * references (Qualys writes `&#039;` in titles and results), and the few HTML names the tree parser
 * decoded (`&nbsp;`, `&copy;`, currency signs …), so both parsers read the same text. Anything else
 * (`&foo;`, a code point out of range) stays as written. Entities a document declares in its own DTD
 * are never expanded: no entity expansion, no expansion bomb.
 */
const NAMED: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['nbsp', '\u00a0'],
  ['copy', '\u00a9'],
  ['reg', '\u00ae'],
  ['trade', '\u2122'],
  ['mdash', '\u2014'],
  ['ndash', '\u2013'],
  ['hellip', '\u2026'],
  ['laquo', '\u00ab'],
  ['raquo', '\u00bb'],
  ['lsquo', '\u2018'],
  ['rsquo', '\u2019'],
  ['ldquo', '\u201c'],
  ['rdquo', '\u201d'],
  ['bull', '\u2022'],
  ['para', '\u00b6'],
  ['sect', '\u00a7'],
  ['deg', '\u00b0'],
  ['frac12', '\u00bd'],
  ['frac14', '\u00bc'],
  ['frac34', '\u00be'],
  ['cent', '\u00a2'],
  ['pound', '\u00a3'],
  ['curren', '\u00a4'],
  ['yen', '\u00a5'],
  ['euro', '\u20ac'],
  ['dollar', '$'],
  ['fnof', '\u0192'],
  ['inr', '\u20b9'],
  ['af', '\u060b'],
  ['birr', '\u1265\u122d'],
  ['peso', '\u20b1'],
  ['rub', '\u20bd'],
  ['won', '\u20a9'],
  ['yuan', '\u00a5'],
  ['cedil', '\u00b8'],
]);

/** `&name;` or `&#…;` as XML allows them; what a bare `&` is checked against. */
const REFERENCE = /&(?:#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z_:][-A-Za-z0-9_.:]*);/y;

/**
 * Where `text` (from `from`) has an `&` that starts no well-formed reference, or -1. XML forbids a
 * bare `&`; Qualys escapes every one, so one that is not is a broken body.
 */
export function badAmpersand(text: string, from = 0): number {
  for (let at = text.indexOf('&', from); at !== -1; at = text.indexOf('&', at + 1)) {
    REFERENCE.lastIndex = at;
    if (!REFERENCE.test(text)) return at;
  }
  return -1;
}

/** Replaces the references of `text` (checked with `badAmpersand` first). */
export function decodeEntities(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(/&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z_:][-A-Za-z0-9_.:]*);/g, (reference, body: string) => {
    if (body.charCodeAt(0) !== 35 /* # */) return NAMED.get(body) ?? reference;
    const code = body.charCodeAt(1) === 120 /* x */ ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return isCharacter(code) ? String.fromCodePoint(code) : reference;
  });
}

/** XML's Char production: a reference to anything else is kept as written. */
function isCharacter(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}
