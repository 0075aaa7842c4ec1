import { badAmpersand, decodeEntities } from './xml-entities';

/** What the tokenizer reports, in document order. */
export interface XmlHandler {
  /** An element starts; `attributes` is undefined when it has none. */
  open(name: string, attributes: Record<string, string> | undefined): void;
  /**
   * Character data inside the root element, entities decoded. A text run or a CDATA section may come in
   * several pieces (it spanned chunks); `last` marks its last piece, so trimming happens per node.
   */
  text(piece: string, last: boolean): void;
  close(name: string): void;
  /** `<name>text</name>`: the same as open, text and close, reported at once (most elements are leaves). */
  leaf(name: string, text: string): void;
}

/** The body is not well-formed XML; `offset` counts characters from the start of the body. */
export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';

  constructor(
    readonly problem: string,
    readonly offset: number,
  ) {
    super(`${problem} at character ${offset}`);
  }
}

const enum Mode {
  Content,
  Cdata,
  Comment,
}

const LT = 60; // <
const GT = 62; // >
const SLASH = 47;
const BANG = 33;
const QUESTION = 63;
const QUOTE = 34;
const APOSTROPHE = 39;
const EQUALS = 61;
const CR = 13;

/** A tag, processing instruction or DOCTYPE longer than this is refused rather than buffered forever. */
const MAX_MARKUP_CHARS = 1 << 20;
/** An entity reference is never longer than this; a trailing `&` further back needs no holding back. */
const MAX_REFERENCE_CHARS = 64;

const BLANKS = /[ \t\r\n]*/y;

const NAME = /^[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_.:\u00B7\u00C0-\uFFFF]*$/;

/**
 * A streaming, non-validating XML tokenizer for Qualys bodies: feed it text as it arrives (`write`),
 * then `end`. It never holds more than the unfinished construct at the end of the last chunk (text and
 * CDATA go on in pieces), and it checks well-formedness as it goes: names, one root, matching end
 * tags, quoted and unique attributes, no bare `&`, nothing but markup outside the root. A body that
 * stops before its root element is closed is an error at `end` — never a shorter document.
 *
 * The DOCTYPE, processing instructions and comments are skipped; entities declared in a DTD are not
 * expanded. Line endings are normalised to `\n` as XML says.
 */
export class XmlTokenizer {
  readonly #handler: XmlHandler;
  #buffer = '';
  /** Next unread character of the buffer. */
  #pos = 0;
  /** Characters of the body before the buffer's first one. */
  #before = 0;
  #mode = Mode.Content;
  /** A text run or CDATA section has been passed on in part; its last piece is still to come. */
  #textOpen = false;
  /** Where the search for the end of the current CDATA section or comment resumes. */
  #searchFrom = 0;
  readonly #open: string[] = [];
  #rootSeen = false;
  #rootClosed = false;
  /** Names seen (checked once), by first character and length: read back without slicing or hashing. */
  readonly #names = new Map<number, string[]>();
  #nameCount = 0;

  constructor(handler: XmlHandler) {
    this.#handler = handler;
  }

  write(chunk: string): void {
    if (chunk.length === 0) return;
    if (this.#pos >= this.#buffer.length) {
      this.#before += this.#buffer.length;
      this.#searchFrom -= this.#buffer.length;
      this.#buffer = chunk;
    } else {
      this.#before += this.#pos;
      this.#searchFrom -= this.#pos;
      this.#buffer = this.#buffer.slice(this.#pos) + chunk;
    }
    this.#pos = 0;
    this.#run(false);
  }

  /** The body is complete: anything unfinished is an error. */
  end(): void {
    this.#run(true);
    const at = this.#before + this.#pos;
    if (this.#mode === Mode.Cdata) throw new XmlSyntaxError('the body ends inside a CDATA section', at);
    if (this.#mode === Mode.Comment) throw new XmlSyntaxError('the body ends inside a comment', at);
    if (this.#pos < this.#buffer.length) throw new XmlSyntaxError('the body ends inside a tag', at);
    const open = this.#open.at(-1);
    if (open !== undefined) throw new XmlSyntaxError(`the body ends before element <${open}> is closed`, at);
    if (!this.#rootSeen) throw new XmlSyntaxError('the body ends before its root element', at);
  }

  #fail(problem: string, index: number): never {
    throw new XmlSyntaxError(problem, this.#before + index);
  }

  #run(final: boolean): void {
    const b = this.#buffer;
    let pos = this.#pos;
    for (;;) {
      if (this.#mode === Mode.Cdata) {
        const end = b.indexOf(']]>', this.#searchFrom);
        if (end === -1) {
          // Keep two characters back: they may be the start of "]]>" (or a CR before its LF).
          const safe = final ? pos : Math.max(pos, b.length - 2);
          if (safe > pos) this.#data(b.slice(pos, safe), false);
          pos = safe;
          this.#searchFrom = pos;
          break;
        }
        this.#data(b.slice(pos, end), true);
        pos = end + 3;
        this.#mode = Mode.Content;
        continue;
      }
      if (this.#mode === Mode.Comment) {
        const end = b.indexOf('-->', this.#searchFrom);
        if (end === -1) {
          pos = Math.max(pos, b.length - 2);
          this.#searchFrom = pos;
          break;
        }
        pos = end + 3;
        this.#mode = Mode.Content;
        continue;
      }

      // Indentation between elements: skipped at native speed (a text node is trimmed anyway).
      if (!this.#textOpen && isSpace(b.charCodeAt(pos))) {
        BLANKS.lastIndex = pos;
        BLANKS.test(b);
        pos = BLANKS.lastIndex;
      }
      const lt = b.indexOf('<', pos);
      if (lt === -1) {
        pos = this.#trailingText(b, pos, final);
        break;
      }
      if (lt > pos) this.#textRun(b, pos, lt, true);
      else if (this.#textOpen) this.#data('', true); // the run held back at the last chunk's end ends here
      pos = lt;
      const next = b.charCodeAt(lt + 1);
      if (next !== next) break; // NaN: the buffer ends after "<"

      if (next === SLASH) {
        const open = this.#open[this.#open.length - 1];
        if (open !== undefined && b.charCodeAt(lt + 2 + open.length) === GT && b.startsWith(open, lt + 2)) {
          this.#closeTop(open);
          pos = lt + 3 + open.length;
          continue;
        }
        const gt = b.indexOf('>', lt + 2);
        if (gt === -1) {
          this.#checkPending(b, lt);
          break;
        }
        this.#endTag(b, lt, gt);
        pos = gt + 1;
      } else if (next === BANG) {
        if (b.startsWith('<!--', lt)) {
          this.#mode = Mode.Comment;
          pos = lt + 4;
          this.#searchFrom = pos;
        } else if (b.length - lt < 9 && isMarkupStart(b.slice(lt))) {
          break; // not enough yet to tell a CDATA section from a DOCTYPE (at the end: a body cut inside it)
        } else if (b.startsWith('<![CDATA[', lt)) {
          if (this.#open.length === 0) this.#fail('a CDATA section outside the root element', lt);
          this.#mode = Mode.Cdata;
          pos = lt + 9;
          this.#searchFrom = pos;
        } else if (b.startsWith('<!DOCTYPE', lt)) {
          if (this.#rootSeen) this.#fail('a DOCTYPE after the root element started', lt);
          const end = doctypeEnd(b, lt + 9);
          if (end === -1) {
            this.#checkPending(b, lt);
            break;
          }
          pos = end;
        } else {
          this.#fail('markup that is neither a comment, a CDATA section nor a DOCTYPE', lt);
        }
      } else if (next === QUESTION) {
        const end = b.indexOf('?>', lt + 2);
        if (end === -1) {
          this.#checkPending(b, lt);
          break;
        }
        pos = end + 2;
      } else {
        // `<NAME>` with a name seen before (most tags): no scan for spaces, quotes or "/".
        const close = b.indexOf('>', lt + 1);
        const known = close === -1 ? undefined : this.#knownName(b, lt + 1, close);
        if (known !== undefined) {
          pos = this.#element(b, lt, close, known, undefined, false);
          continue;
        }
        // The name runs to a space, "/" or ">": a tag without attributes needs no quote-aware scan.
        let i = lt + 1;
        let c = b.charCodeAt(i);
        while (c === c && c !== GT && c !== SLASH && !isSpace(c)) c = b.charCodeAt(++i);
        let gt = c === GT ? i : c === SLASH ? i + 1 : tagEnd(b, i);
        if (c !== c || gt === -1 || gt >= b.length) {
          this.#checkPending(b, lt);
          break;
        }
        if (b.charCodeAt(gt) !== GT) this.#fail('a "/" inside a start tag', i);
        pos = this.#startTag(b, lt, i, gt);
      }
    }
    this.#pos = pos;
  }

  /** Text from `from` to the end of the buffer: passed on, less what may continue in the next chunk. */
  #trailingText(b: string, from: number, final: boolean): number {
    let to = b.length;
    if (!final) {
      // An entity reference or a CRLF may be split across chunks: hold back from a trailing "&" or CR.
      const amp = b.indexOf('&', Math.max(from, b.length - MAX_REFERENCE_CHARS));
      if (amp !== -1) {
        const last = b.lastIndexOf('&');
        if (b.indexOf(';', last) === -1) to = last;
      }
      if (to > from && b.charCodeAt(to - 1) === CR) to -= 1;
    }
    if (to > from) this.#textRun(b, from, to, false);
    return to;
  }

  #textRun(b: string, from: number, to: number, last: boolean): void {
    if (this.#open.length === 0) {
      if (!isBlank(b, from, to)) this.#fail(this.#rootClosed ? 'text after the root element' : 'text before the root element', from);
      return;
    }
    if (last && !this.#textOpen && isBlank(b, from, to)) return; // indentation between elements
    let piece = b.slice(from, to);
    if (piece.indexOf('&') !== -1) {
      const bad = badAmpersand(piece);
      if (bad !== -1) this.#fail('an "&" that starts no entity reference', from + bad);
      piece = decodeEntities(piece);
    }
    this.#data(piece, last);
  }

  #data(piece: string, last: boolean): void {
    this.#textOpen = !last;
    this.#handler.text(piece.indexOf('\r') === -1 ? piece : piece.replace(/\r\n?/g, '\n'), last);
  }

  #checkPending(b: string, from: number): void {
    if (b.length - from > MAX_MARKUP_CHARS) this.#fail(`markup longer than ${MAX_MARKUP_CHARS} characters`, from);
  }

  /** Reads the start tag `<…>` from `lt` to `gt`, and the whole element when it is a plain leaf; returns where to go on. */
  #startTag(b: string, lt: number, nameEnd: number, gt: number): number {
    const selfClosing = b.charCodeAt(gt - 1) === SLASH;
    const end = selfClosing ? gt - 1 : gt;
    const name = this.#name(b, lt + 1, nameEnd, 'element');
    const attributes = nameEnd < end ? this.#attributes(b, nameEnd, end) : undefined;
    return this.#element(b, lt, gt, name, attributes, selfClosing);
  }

  /** An element whose start tag `<…>` runs from `lt` to `gt` begins; returns where to go on. */
  #element(b: string, lt: number, gt: number, name: string, attributes: Record<string, string> | undefined, selfClosing: boolean): number {
    if (this.#open.length === 0) {
      if (this.#rootClosed) this.#fail(`a second root element <${name}>`, lt);
      this.#rootSeen = true;
    } else if (attributes === undefined && !selfClosing) {
      const after = this.#leaf(b, name, gt + 1);
      if (after !== -1) return after;
    }
    this.#open.push(name);
    this.#handler.open(name, attributes);
    if (selfClosing) this.#closeTop(name);
    return gt + 1;
  }

  /**
   * `<name>text</name>` or `<name><![CDATA[text]]></name>` wholly in the buffer, from `from` (after the
   * start tag): reported as one leaf, and the index after its end tag returned; else -1 (read it the long way).
   */
  #leaf(b: string, name: string, from: number): number {
    let lt = b.indexOf('<', from);
    if (lt === -1) return -1;
    let text: string;
    if (b.charCodeAt(lt + 1) === SLASH) {
      text = b.slice(from, lt);
      if (text.indexOf('&') !== -1) {
        const bad = badAmpersand(text);
        if (bad !== -1) this.#fail('an "&" that starts no entity reference', from + bad);
        text = decodeEntities(text);
      }
    } else if (lt === from && b.startsWith('<![CDATA[', lt)) {
      const end = b.indexOf(']]>', lt + 9);
      if (end === -1) return -1;
      text = b.slice(lt + 9, end);
      lt = end + 3;
      if (b.charCodeAt(lt) !== LT || b.charCodeAt(lt + 1) !== SLASH) return -1;
    } else {
      return -1;
    }
    const close = lt + 2 + name.length;
    if (b.charCodeAt(close) !== GT || !b.startsWith(name, lt + 2)) return -1;
    if (text.indexOf('\r') !== -1) text = text.replace(/\r\n?/g, '\n');
    this.#handler.leaf(name, text);
    return close + 1;
  }

  #endTag(b: string, lt: number, gt: number): void {
    let to = gt;
    while (to > lt + 2 && isSpace(b.charCodeAt(to - 1))) to--;
    const name = b.slice(lt + 2, to);
    const open = this.#open.at(-1);
    if (open === undefined) this.#fail(`an end tag </${name}> with no element open`, lt);
    if (name !== open) this.#fail(`an end tag </${name}> where </${open}> was expected`, lt);
    this.#closeTop(name);
  }

  #closeTop(name: string): void {
    this.#open.pop();
    if (this.#open.length === 0) this.#rootClosed = true;
    this.#handler.close(name);
  }

  /**
   * The name from `from` to `to`, checked: the same string instance each time it recurs (Qualys uses a
   * few dozen names), so the tree's keys need no hashing and no copies.
   */
  #name(b: string, from: number, to: number, what: 'element' | 'attribute'): string {
    const known = this.#knownName(b, from, to);
    if (known !== undefined) return known;
    const name = b.slice(from, to);
    this.#checkName(name, from, what);
    // The cache must not grow with a hostile body.
    if (this.#nameCount < 4096) {
      this.#nameCount += 1;
      const key = nameKey(b, from, to);
      const same = this.#names.get(key);
      if (same === undefined) this.#names.set(key, [name]);
      else same.push(name);
    }
    return name;
  }

  /** The checked name that `from`…`to` spells, if it has been seen before. */
  #knownName(b: string, from: number, to: number): string | undefined {
    const known = this.#names.get(nameKey(b, from, to));
    if (known === undefined) return undefined;
    for (let k = 0; k < known.length; k++) {
      const name = known[k] as string;
      if (b.startsWith(name, from)) return name;
    }
    return undefined;
  }

  #checkName(name: string, at: number, what: 'element' | 'attribute'): void {
    if (name === '') this.#fail(`an ${what} without a name`, at);
    if (!NAME.test(name)) this.#fail(`an invalid ${what} name "${name.slice(0, 40)}"`, at);
    // Names become object keys: an inherited one would be mistaken for a value.
    if (name in Object.prototype) this.#fail(`the ${what} name "${name}", which is reserved`, at);
  }

  /** The attributes between a start tag's name and its end (`to`: its ">" or "/>"). */
  #attributes(b: string, from: number, to: number): Record<string, string> | undefined {
    let attributes: Record<string, string> | undefined;
    let i = from;
    for (;;) {
      const start = i;
      while (i < to && isSpace(b.charCodeAt(i))) i++;
      if (i >= to) return attributes;
      if (i === start) this.#fail('attributes without a space between them', i);
      const nameStart = i;
      while (i < to && b.charCodeAt(i) !== EQUALS && !isSpace(b.charCodeAt(i))) i++;
      const name = this.#name(b, nameStart, i, 'attribute');
      while (i < to && isSpace(b.charCodeAt(i))) i++;
      if (b.charCodeAt(i) !== EQUALS) this.#fail(`attribute "${name}" without a value`, nameStart);
      i += 1;
      while (i < to && isSpace(b.charCodeAt(i))) i++;
      const quote = b.charCodeAt(i);
      if (quote !== QUOTE && quote !== APOSTROPHE) this.#fail(`attribute "${name}" without a quoted value`, nameStart);
      const close = b.indexOf(quote === QUOTE ? '"' : "'", i + 1);
      if (close === -1 || close >= to) this.#fail(`attribute "${name}" without a closing quote`, nameStart);
      let value = b.slice(i + 1, close);
      if (value.indexOf('<') !== -1) this.#fail(`a "<" in the value of attribute "${name}"`, i);
      if (value.indexOf('&') !== -1) {
        const bad = badAmpersand(value);
        if (bad !== -1) this.#fail('an "&" that starts no entity reference', i + 1 + bad);
        value = decodeEntities(value);
      }
      attributes ??= {};
      if (attributes[name] !== undefined) this.#fail(`attribute "${name}" repeated`, nameStart);
      attributes[name] = value;
      i = close + 1;
    }
  }
}

/** Whether `text` may be the start of a comment, a CDATA section or a DOCTYPE. */
function isMarkupStart(text: string): boolean {
  return '<![CDATA['.startsWith(text) || '<!DOCTYPE'.startsWith(text) || '<!--'.startsWith(text);
}

/** Names are cached by first character and length: a match is then one `startsWith`. */
function nameKey(b: string, from: number, to: number): number {
  return b.charCodeAt(from) * 1024 + (to - from);
}

function isBlank(b: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    if (!isSpace(b.charCodeAt(i))) return false;
  }
  return true;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** The ">" ending a start tag that begins at `from`, skipping quoted attribute values; -1 if not here yet. */
function tagEnd(b: string, from: number): number {
  let i = from;
  for (;;) {
    const gt = b.indexOf('>', i);
    if (gt === -1) return -1;
    let quote = -1;
    for (let k = i; k < gt; k++) {
      const c = b.charCodeAt(k);
      if (c === QUOTE || c === APOSTROPHE) {
        quote = k;
        break;
      }
    }
    if (quote === -1) return gt;
    const closing = b.indexOf(b.charAt(quote), quote + 1);
    if (closing === -1) return -1;
    i = closing + 1;
  }
}

/** The index after the ">" ending a DOCTYPE (its internal subset in brackets, quoted strings); -1 if not here yet. */
function doctypeEnd(b: string, from: number): number {
  let inSubset = false;
  for (let i = from; i < b.length; i++) {
    const c = b.charCodeAt(i);
    if (c === QUOTE || c === APOSTROPHE) {
      const closing = b.indexOf(b.charAt(i), i + 1);
      if (closing === -1) return -1;
      i = closing;
    } else if (c === 91 /* [ */) {
      inSubset = true;
    } else if (c === 93 /* ] */) {
      inSubset = false;
    } else if (c === GT && !inSubset) {
      return i + 1;
    }
  }
  return -1;
}
