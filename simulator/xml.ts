/**
 * A minimal XML writer that produces Qualys-shaped documents: two-space indentation, CDATA for the
 * elements Qualys wraps in CDATA, and comments where Qualys puts them.
 */

export function escapeXmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeXmlAttribute(text: string): string {
  return escapeXmlText(text).replace(/"/g, '&quot;');
}

/** Wraps text in CDATA, splitting any `]]>` so the section stays well formed. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

export type XmlAttributes = Record<string, string | number | undefined>;

function renderAttributes(attributes: XmlAttributes | undefined): string {
  if (!attributes) return '';
  let out = '';
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) out += ` ${name}="${escapeXmlAttribute(String(value))}"`;
  }
  return out;
}

/** A character ISO-8859-1 cannot carry, written as a character reference. */
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/gu;
const toReference = (c: string): string => `&#x${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()};`;

export class XmlWriter {
  private readonly parts: string[] = [];
  private readonly open: string[] = [];
  private readonly latin1: boolean;

  /**
   * `<?xml …?>` plus an optional DOCTYPE, as API v2 responses start. With `latin1`, the document is
   * declared ISO-8859-1 (the body must then be encoded so): text beyond it goes out as character
   * references, and a CDATA value holding such text as escaped text (CDATA cannot carry references).
   */
  constructor(options: { doctype?: { root: string; systemUrl: string }; declaration?: string; latin1?: boolean } = {}) {
    this.latin1 = options.latin1 === true;
    this.parts.push(options.declaration ?? `<?xml version="1.0" encoding="${this.latin1 ? 'ISO-8859-1' : 'UTF-8'}" ?>\n`);
    if (options.doctype) this.parts.push(`<!DOCTYPE ${options.doctype.root} SYSTEM "${options.doctype.systemUrl}">\n`);
  }

  private escaped(text: string): string {
    const escaped = escapeXmlText(text);
    return this.latin1 ? escaped.replace(BEYOND_LATIN1, toReference) : escaped;
  }

  private indent(): string {
    return '  '.repeat(this.open.length);
  }

  comment(text: string): this {
    this.parts.push(`${this.indent()}<!-- ${text.replace(/--/g, '- -')} -->\n`);
    return this;
  }

  start(name: string, attributes?: XmlAttributes): this {
    this.parts.push(`${this.indent()}<${name}${renderAttributes(attributes)}>\n`);
    this.open.push(name);
    return this;
  }

  end(): this {
    const name = this.open.pop();
    if (name === undefined) throw new Error('XmlWriter.end() without an open element');
    this.parts.push(`${this.indent()}</${name}>\n`);
    return this;
  }

  /** A text element; skipped when the value is undefined (optional elements are simply absent). */
  text(name: string, value: string | number | undefined, attributes?: XmlAttributes): this {
    if (value === undefined) return this;
    this.parts.push(`${this.indent()}<${name}${renderAttributes(attributes)}>${this.escaped(String(value))}</${name}>\n`);
    return this;
  }

  /** A text element whose carriage returns go out as `&#13;` (so a reader keeps them, as XML says). */
  textWithCarriageReturns(name: string, value: string | undefined): this {
    if (value === undefined) return this;
    this.parts.push(`${this.indent()}<${name}>${this.escaped(value).replace(/\r/g, '&#13;')}</${name}>\n`);
    return this;
  }

  /** A CDATA element; skipped when the value is undefined. */
  cdata(name: string, value: string | number | undefined, attributes?: XmlAttributes): this {
    if (value === undefined) return this;
    if (this.latin1 && /[^\u0000-\u00ff]/u.test(String(value))) return this.text(name, value, attributes);
    this.parts.push(`${this.indent()}<${name}${renderAttributes(attributes)}>${cdata(String(value))}</${name}>\n`);
    return this;
  }

  /** An element with no content: `<name/>`. */
  empty(name: string, attributes?: XmlAttributes): this {
    this.parts.push(`${this.indent()}<${name}${renderAttributes(attributes)}/>\n`);
    return this;
  }

  toString(): string {
    if (this.open.length > 0) throw new Error(`XmlWriter: unclosed elements ${this.open.join(' > ')}`);
    return this.parts.join('');
  }
}

/** Qualys booleans are 0/1. */
export function flag(value: boolean): string {
  return value ? '1' : '0';
}
