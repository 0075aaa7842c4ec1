import type { SaxesParser, SaxesTagPlain } from 'saxes';
import { endpointInfo } from './endpoints';
import type { QualysError } from './errors';
import type { RecordOutcomes, RecordReader, RejectedRecord } from './parse-document';
import { REPLACEMENT_CHARACTER, UnsupportedEncodingError, XmlBodyDecoder } from './xml-decoder';
import { malformed, type XmlContext, type XmlDocument } from './xml-document';
import { XML_LIMITS, XmlLimitExceeded } from './xml-limits';
import { htmlTitle } from './html-page';
import { QualysXmlParser, type ParserHandlers, type ParserOptions } from './xml-parser';
import { XmlTreeBuilder, type ReplacedCharacters } from './xml-tree-builder';

/** What of an HTML page (a proxy's, a load balancer's) is kept, to name it by its title. */
const HTML_KEPT_CHARS = 64 * 1024;

/** Records found while reading, handed over one by one. */
export interface RecordSink<T> {
  reader: RecordReader<T>;
  take(record: T): void;
  /** Gets each record that cannot be read. Without it, such a record fails the page. */
  reject?: (record: RejectedRecord) => void;
}

/** The body is not well-formed XML: what the parser said, where. */
class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

/**
 * Reads a Qualys XML body as it arrives, chunk by chunk, with `saxes` (a conformant, streaming XML 1.0
 * parser), and ends with the document (`XmlDocument`) or a `malformed-response` saying what came back
 * instead: nothing, an HTML page, or XML that is not well-formed (usually a body cut off in transit,
 * which must be detected, never half-read). Bytes are decoded as the body declares (`xml-decoder.ts`),
 * characters XML forbids replaced by U+FFFD and counted per field. With a sink, the records on its
 * path (each HOST, VULN or HostAsset) are validated and handed over as soon as each is complete, and
 * left out of the document; until `end` returns they are provisional: a body that then turns out cut
 * short or broken fails the whole call. Memory holds one record and one chunk, never the page, and
 * what the body can make it hold is bounded (`xml-limits.ts`).
 *
 * Entities a document declares are never expanded (no expansion bomb): a reference to one, like any
 * undefined entity, stays in the text as written. A character reference to a character XML forbids
 * (`&#0;`, `&#27;`) reads as U+FFFD, like the raw character.
 */
export class XmlBodyReader<T = never> {
  readonly #context: XmlContext;
  readonly #builder: XmlTreeBuilder;
  readonly #parser: SaxesParser<ParserOptions>;
  readonly #decoder = new XmlBodyDecoder();
  /** The body's start (capped), to name an HTML page by its title. */
  #prefix = '';
  #html: boolean;
  #bytes = 0;
  /** Characters handed to the parser, and how many had been when it last completed something. */
  #written = 0;
  #lastEvent = 0;
  #blank = true;
  #attributesInTag = 0;
  /** Character references to forbidden characters in the text or tag being read (the parser keeps them as written). */
  #badReferences = 0;
  #failure: Error | undefined;
  readonly #dropped = new Map<string, number>();
  #rejected = 0;

  constructor(context: XmlContext, sink?: RecordSink<T>) {
    this.#context = context;
    const outcomes: RecordOutcomes = {
      dropped: (field) => this.#dropped.set(field, (this.#dropped.get(field) ?? 0) + 1),
      reject:
        sink?.reject &&
        ((record) => {
          this.#rejected += 1;
          sink.reject?.(record);
        }),
    };
    this.#builder = new XmlTreeBuilder(
      sink && {
        path: sink.reader.path,
        record: (value, index, name) => {
          const record = sink.reader.read(value, { index, name }, context, outcomes);
          if (record !== undefined) sink.take(record);
        },
      },
    );
    this.#html = context.contentType !== undefined && /\btext\/html\b/i.test(context.contentType);
    this.#parser = new QualysXmlParser(this.#handlers());
  }

  /** The root element's name, once its start tag has been read. */
  get rootName(): string | undefined {
    return this.#builder.rootName;
  }

  /** The encoding the body is read in (from its byte order mark or declaration; UTF-8 otherwise). */
  get encoding(): string {
    return this.#decoder.encoding;
  }

  /** Characters that arrived as U+FFFD or were replaced by it (invalid bytes, characters XML forbids), by field. */
  get replacedCharacters(): ReadonlyMap<string, ReplacedCharacters> {
    return this.#builder.replacedCharacters;
  }

  /** Values of unexpected form dropped from their records, by field (`DETECTION.PORT`). */
  get droppedValues(): ReadonlyMap<string, number> {
    return this.#dropped;
  }

  /** Records that could not be read, handed to the sink's `reject`. */
  get rejectedRecords(): number {
    return this.#rejected;
  }

  /** The body held nothing but white space (so far). */
  get blank(): boolean {
    return this.#blank;
  }

  /** The body's first 64 KiB of text: what names an HTML page by its title. */
  get prefix(): string {
    return this.#prefix;
  }

  /** The next bytes of the body. */
  writeBytes(bytes: Uint8Array): void {
    this.#bytes += bytes.byteLength;
    this.#feed(() => this.#decoder.write(bytes));
  }

  /** The next piece of a body that is already text (its declared encoding is not read again). */
  write(text: string): void {
    this.#bytes += Buffer.byteLength(text);
    this.#feed(() => this.#decoder.text(text, false));
  }

  /** The whole body has arrived: the document, or the error saying what came back instead. */
  end(): XmlDocument {
    this.#feed(() => this.#decoder.end(), true);
    const title = endpointInfo[this.#context.endpoint].title;
    const status = this.#context.httpStatus;
    if (this.#html) {
      const pageTitle = htmlTitle(this.#prefix);
      throw malformed(
        this.#context,
        `${title} returned an HTML page (status ${status}) instead of XML — a proxy or load balancer answered` +
          (pageTitle ? ` ("${pageTitle}").` : '.'),
        'Usually transient. If it persists, check the API URL and any proxy between the connector and Qualys.',
      );
    }
    if (this.#blank) throw malformed(this.#context, `${title} returned an empty body (HTTP ${status}) instead of XML.`);
    const rootName = this.#builder.rootName;
    if (rootName === undefined) throw malformed(this.#context, `${title} returned XML without a root element (HTTP ${status}).`);
    return { rootName, root: this.#builder.root };
  }

  #feed(decode: () => string, final = false): void {
    if (this.#failure !== undefined) throw this.#failure;
    // An HTML page whose start is kept: the rest is neither parsed nor decoded.
    if (this.#html && !this.#blank && this.#prefix.length >= HTML_KEPT_CHARS) return;
    try {
      const text = decode();
      if (this.#prefix.length < HTML_KEPT_CHARS) this.#prefix += text.slice(0, HTML_KEPT_CHARS - this.#prefix.length);
      if (this.#blank && text.trim() !== '') this.#blank = false;
      if (this.#html) return;
      if (text !== '') {
        this.#parser.write(text);
        this.#written += text.length;
        if (this.#written - this.#lastEvent > XML_LIMITS.pendingCharacters) throw new XmlLimitExceeded('pendingCharacters');
      }
      if (final && !this.#html && !this.#blank) this.#parser.close();
    } catch (error) {
      this.#failure = this.#failureFor(error);
      throw this.#failure;
    }
  }

  #failureFor(error: unknown): Error {
    if (error instanceof XmlSyntaxError) return this.#notWellFormed(error.message);
    if (error instanceof XmlLimitExceeded) {
      return malformed(
        this.#context,
        `${endpointInfo[this.#context.endpoint].title} returned a body with ${error.message}; it was abandoned after ${this.#bytes} bytes (HTTP ${this.#context.httpStatus}).`,
        'No Qualys answer comes near this: check the API URL and any proxy between the connector and Qualys. Retrying will not help.',
        false,
      );
    }
    if (error instanceof UnsupportedEncodingError) {
      return malformed(
        this.#context,
        `${endpointInfo[this.#context.endpoint].title} returned a body in an encoding the connector cannot read (${error.message}).`,
        'Qualys answers in UTF-8; check any proxy between the connector and Qualys. Retrying will not help.',
        false,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  #handlers(): ParserHandlers {
    const builder = this.#builder;
    const completed = (): void => {
      this.#lastEvent = this.#written;
    };
    return {
      // Text outside the root is dropped (the parser still checks it is only white space).
      text: (text) => {
        if (this.#html) return;
        completed();
        if (builder.depth > 0) builder.text(this.#badReferences > 0 ? this.#repairReferences(text) : text);
      },
      opentagstart: () => {
        completed();
        this.#attributesInTag = 0;
      },
      attribute: () => {
        if (this.#html) return;
        completed();
        if (++this.#attributesInTag > XML_LIMITS.tagAttributes) throw new XmlLimitExceeded('tagAttributes');
      },
      opentag: (tag) => {
        if (this.#html) return;
        completed();
        if (builder.depth === 0 && /^(html|head|body)$/i.test(tag.name)) {
          this.#html = true;
          return;
        }
        builder.open(tag.name, this.#attributesOf(tag));
      },
      closetag: () => {
        if (this.#html) return;
        completed();
        builder.close();
      },
      cdata: (text) => {
        if (this.#html) return;
        completed();
        builder.text(text);
      },
      comment: completed,
      processinginstruction: completed,
      doctype: (doctype) => {
        completed();
        if (/^\s*html\b/i.test(doctype)) this.#html = true;
      },
      error: (error) => {
        // An HTML page is named by its title, not by what XML makes of it.
        if (this.#html) return;
        const message = error.message;
        // Kept as written, as the entity would be were it expanded by nobody: declared entities are never expanded.
        if (message.endsWith('undefined entity.')) return;
        if (message.endsWith('malformed character entity.')) {
          this.#badReferences += 1;
          return;
        }
        throw new XmlSyntaxError(message);
      },
    };
  }

  #attributesOf(tag: SaxesTagPlain): Record<string, string> | undefined {
    let attributes: Record<string, string> | undefined;
    for (const name in tag.attributes) {
      const value = tag.attributes[name] as string;
      attributes ??= {};
      const repaired = this.#badReferences > 0 ? this.#repairReferences(value) : value;
      if (name === '__proto__') Object.defineProperty(attributes, name, { value: repaired, enumerable: true, writable: true, configurable: true });
      else attributes[name] = repaired;
    }
    this.#badReferences = 0;
    return attributes;
  }

  /** The parser kept a reference to a forbidden character as written (`&#0;`): it reads as U+FFFD. */
  #repairReferences(text: string): string {
    this.#badReferences = 0;
    return text.replace(/&#(x[0-9A-Fa-f]+|[0-9]+);/g, (reference, digits: string) => {
      const code = digits.charCodeAt(0) === 120 /* x */ ? parseInt(digits.slice(1), 16) : parseInt(digits, 10);
      return isXmlCharacter(code) ? reference : REPLACEMENT_CHARACTER;
    });
  }

  #notWellFormed(detail: string): QualysError {
    return malformed(
      this.#context,
      `${endpointInfo[this.#context.endpoint].title} returned XML that is not well-formed (${placed(detail)}; ${this.#bytes} bytes received, HTTP ${this.#context.httpStatus}) — ` +
        'the body was probably cut off in transit.',
      'Usually a dropped connection; the call can be retried. If it keeps happening, use smaller ID ranges.',
    );
  }
}

/** saxes' "3:14: unexpected end." as "unexpected end at line 3, column 14". */
function placed(detail: string): string {
  const match = /^(\d+):(\d+): (.*?)\.?$/s.exec(detail);
  return match === null ? detail.replace(/\.$/, '') : `${match[3]} at line ${match[1]}, column ${match[2]}`;
}

/** XML 1.0's Char production. */
function isXmlCharacter(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}
