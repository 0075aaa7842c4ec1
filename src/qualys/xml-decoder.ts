/**
 * Turns a Qualys body's bytes into the text the XML parser reads, as the bytes arrive: in the encoding
 * the body declares (a byte order mark, else the XML declaration's `encoding`, else UTF-8 as XML says),
 * with the characters XML 1.0 forbids — NUL, ESC and the other C0 controls but tab, LF and CR; U+FFFE,
 * U+FFFF; a lone surrogate — replaced by U+FFFD. Invalid byte sequences become U+FFFD too (the
 * decoder's own replacement). Never a failed page: a retry would bring the same bytes. Decoding is the
 * platform's `TextDecoder`; ISO-8859-1 is read byte for byte (the WHATWG label would mean windows-1252).
 */

/** The characters XML 1.0's Char production leaves out (lone surrogates: `\p{Cs}` under the `u` flag). */
const FORBIDDEN = /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|\p{Cs}/gu;
const FORBIDDEN_TEST = /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF\uD800-\uDFFF]/;

export const REPLACEMENT_CHARACTER = '\uFFFD';

/** How much of the body's start may hold the XML declaration (it is far shorter). */
const DECLARATION_BYTES = 1024;

/** Text with the characters XML forbids replaced by U+FFFD (a surrogate pair split across chunks is the caller's to join). */
export function withoutForbiddenCharacters(text: string): string {
  return FORBIDDEN_TEST.test(text) ? text.replace(FORBIDDEN, REPLACEMENT_CHARACTER) : text;
}

/** The encoding a body declared that the connector cannot read. */
export class UnsupportedEncodingError extends Error {
  override readonly name = 'UnsupportedEncodingError';

  constructor(readonly encoding: string) {
    super(`the body declares encoding "${encoding}", which the connector cannot read`);
  }
}

type Decode = (bytes: Uint8Array, final: boolean) => string;

export class XmlBodyDecoder {
  /** The body's first bytes, until the encoding is known. */
  #head: Buffer | undefined = Buffer.alloc(0);
  #decode: Decode | undefined;
  /** A high surrogate at the end of the last piece of text: its pair may start the next. */
  #carry = '';
  #encoding = 'UTF-8';

  /** The encoding the body is read in, once known. */
  get encoding(): string {
    return this.#encoding;
  }

  /** The text of these bytes (what can be decoded of them yet). */
  write(bytes: Uint8Array): string {
    if (this.#decode !== undefined) return this.#clean(this.#decode(bytes, false), false);
    const head = Buffer.concat([this.#head ?? Buffer.alloc(0), bytes]);
    const decode = chooseDecoder(head, false);
    if (decode === undefined) {
      this.#head = head;
      return '';
    }
    this.#head = undefined;
    this.#decode = decode.decode;
    this.#encoding = decode.encoding;
    return this.#clean(decode.decode(head, false), false);
  }

  /** The body is complete: what was held back. */
  end(): string {
    if (this.#decode === undefined) {
      const head = this.#head ?? Buffer.alloc(0);
      const decode = chooseDecoder(head, true);
      this.#head = undefined;
      if (decode === undefined) return '';
      this.#decode = decode.decode;
      this.#encoding = decode.encoding;
      return this.#clean(decode.decode(head, true), true);
    }
    return this.#clean(this.#decode(new Uint8Array(0), true), true);
  }

  /** Text already decoded (a caller that has a string): only the forbidden characters are replaced. */
  text(text: string, final: boolean): string {
    return this.#clean(text, final);
  }

  #clean(text: string, final: boolean): string {
    let whole = this.#carry === '' ? text : this.#carry + text;
    this.#carry = '';
    if (!final && whole.length > 0) {
      const last = whole.charCodeAt(whole.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.#carry = whole.slice(-1);
        whole = whole.slice(0, -1);
      }
    }
    return withoutForbiddenCharacters(whole);
  }
}

/** The decoder for a body starting with `head`, or undefined while too little has arrived to tell. */
function chooseDecoder(head: Buffer, final: boolean): { decode: Decode; encoding: string } | undefined {
  // A byte order mark decides (and is not part of the text).
  if (startsWith(head, [0xef, 0xbb, 0xbf])) return textDecoder('utf-8', 'UTF-8');
  if (startsWith(head, [0xff, 0xfe])) return textDecoder('utf-16le', 'UTF-16LE');
  if (startsWith(head, [0xfe, 0xff])) return textDecoder('utf-16be', 'UTF-16BE');
  // UTF-16 without a mark, recognised by its "<?" (XML 1.0, appendix F).
  if (startsWith(head, [0x3c, 0x00, 0x3f, 0x00])) return textDecoder('utf-16le', 'UTF-16LE');
  if (startsWith(head, [0x00, 0x3c, 0x00, 0x3f])) return textDecoder('utf-16be', 'UTF-16BE');
  const opening = Buffer.from('<?xml');
  const known = Math.min(head.length, opening.length);
  if (!final && (head.length < 4 || head.subarray(0, known).equals(opening.subarray(0, known)))) {
    // Perhaps an XML declaration: wait for its end (it is short), then read its encoding.
    if (head.length < opening.length) return undefined;
    const end = head.indexOf('?>');
    if (end === -1 && head.length < DECLARATION_BYTES) return undefined;
  }
  const declaration = head.subarray(0, Math.min(head.length, DECLARATION_BYTES)).toString('latin1');
  const declared = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']/.exec(declaration)?.[1];
  return declared === undefined ? textDecoder('utf-8', 'UTF-8') : declaredDecoder(declared);
}

function declaredDecoder(declared: string): { decode: Decode; encoding: string } {
  const label = declared.toLowerCase();
  if (label === 'utf-8' || label === 'utf8' || label === 'us-ascii' || label === 'ascii') return textDecoder('utf-8', 'UTF-8');
  // Byte for byte: the WHATWG decoder would read 0x80–0x9F as windows-1252.
  if (label === 'iso-8859-1' || label === 'latin1' || label === 'iso_8859-1' || label === 'l1') {
    return { decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), encoding: 'ISO-8859-1' };
  }
  // UTF-16 declared without a byte order mark: the declaration itself was read as ASCII, so it is not UTF-16.
  if (label.startsWith('utf-16')) return textDecoder('utf-8', 'UTF-8');
  try {
    return textDecoder(label, declared);
  } catch {
    throw new UnsupportedEncodingError(declared.slice(0, 40));
  }
}

function textDecoder(label: string, encoding: string): { decode: Decode; encoding: string } {
  const decoder = new TextDecoder(label);
  return { decode: (bytes, final) => decoder.decode(bytes, { stream: !final }), encoding };
}

function startsWith(bytes: Buffer, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}
