import { endpointInfo } from './endpoints';
import type { QualysError } from './errors';
import type { RecordReader } from './parse-document';
import { malformed, type XmlContext, type XmlDocument } from './xml-document';
import { XmlTreeBuilder } from './xml-tree-builder';
import { XmlSyntaxError, XmlTokenizer } from './xml-tokenizer';

/** How much of the body's start tells XML from an HTML page (a proxy's, a load balancer's). */
const SNIFF_CHARS = 512;
/** What of an HTML page is kept, to name it by its title. */
const HTML_KEPT_CHARS = 64 * 1024;

/** Records found while reading, handed over one by one. */
export interface RecordSink<T> {
  reader: RecordReader<T>;
  take(record: T): void;
}

/**
 * Reads a Qualys XML body as it arrives, chunk by chunk, and ends with what the tree parser gave for
 * the whole body — the document (`XmlDocument`) or a `malformed-response` saying what came back
 * instead: nothing, an HTML page, or XML that is not well-formed (usually a body cut off in transit,
 * which must be detected, never half-read). With a sink, the records on its path (each HOST, VULN or
 * HostAsset) are validated and handed over as soon as each is complete, and left out of the document;
 * until `end` returns they are provisional: a body that then turns out cut short or broken fails the
 * whole call. Memory holds one record and one chunk, never the page.
 */
export class XmlBodyReader<T = never> {
  readonly #context: XmlContext;
  readonly #builder: XmlTreeBuilder;
  readonly #tokenizer: XmlTokenizer;
  /** The body's start, until it is known not to be HTML. */
  #head: string | undefined = '';
  #html: string | undefined;
  #bytes = 0;
  #blank = true;

  constructor(context: XmlContext, sink?: RecordSink<T>) {
    this.#context = context;
    this.#builder = new XmlTreeBuilder(
      sink && {
        path: sink.reader.path,
        record: (value, index) => sink.take(sink.reader.read(value, index, context)),
      },
    );
    this.#tokenizer = new XmlTokenizer(this.#builder);
  }

  /** The root element's name, once its start tag has been read. */
  get rootName(): string | undefined {
    return this.#builder.rootName;
  }

  write(text: string): void {
    this.#bytes += Buffer.byteLength(text);
    if (this.#html !== undefined) {
      if (this.#html.length < HTML_KEPT_CHARS) this.#html += text;
      return;
    }
    if (this.#head === undefined) {
      this.#feed(text);
      return;
    }
    this.#head += text;
    const start = this.#head.trimStart();
    if (start.length >= SNIFF_CHARS) this.#sniffed(start);
  }

  /** The whole body has arrived: the document, or the error saying what came back instead. */
  end(): XmlDocument {
    const title = endpointInfo[this.#context.endpoint].title;
    const status = this.#context.httpStatus;
    if (this.#head !== undefined) {
      const start = this.#head.trimStart();
      if (start !== '') this.#sniffed(start);
    }
    if (this.#html !== undefined) {
      const pageTitle = htmlPageTitle(this.#html, this.#context.contentType);
      throw malformed(
        this.#context,
        `${title} returned an HTML page (status ${status}) instead of XML — a proxy or load balancer answered` +
          (pageTitle ? ` ("${pageTitle}").` : '.'),
        'Usually transient. If it persists, check the API URL and any proxy between the connector and Qualys.',
      );
    }
    if (this.#blank) throw malformed(this.#context, `${title} returned an empty body (HTTP ${status}) instead of XML.`);
    this.#guard(() => this.#tokenizer.end());
    const rootName = this.#builder.rootName;
    if (rootName === undefined) throw malformed(this.#context, `${title} returned XML without a root element (HTTP ${status}).`);
    return { rootName, root: this.#builder.root };
  }

  #sniffed(start: string): void {
    this.#head = undefined;
    if (looksLikeHtml(start, this.#context.contentType)) {
      this.#html = start;
      return;
    }
    this.#feed(start.charCodeAt(0) === 0xfeff ? start.slice(1) : start);
  }

  #feed(text: string): void {
    if (this.#blank && text.trim() !== '') this.#blank = false;
    this.#guard(() => this.#tokenizer.write(text));
  }

  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (error instanceof XmlSyntaxError) throw this.#notWellFormed(error.message);
      throw error;
    }
  }

  #notWellFormed(detail: string): QualysError {
    return malformed(
      this.#context,
      `${endpointInfo[this.#context.endpoint].title} returned XML that is not well-formed (${detail}; ${this.#bytes} bytes received, HTTP ${this.#context.httpStatus}) — ` +
        'the body was probably cut off in transit.',
      'Usually a dropped connection; the call can be retried. If it keeps happening, use smaller ID ranges.',
    );
  }
}

/**
 * For an HTML page (what a proxy, load balancer, portal or maintenance window serves): its <title>,
 * or '' when it has none. Undefined when the body is not HTML.
 */
export function htmlPageTitle(body: string, contentType: string | undefined): string | undefined {
  if (!looksLikeHtml(body.replace(/^\uFEFF/, '').trimStart(), contentType)) return undefined;
  const match = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(body);
  return match?.[1]?.trim() ?? '';
}

function looksLikeHtml(start: string, contentType: string | undefined): boolean {
  if (contentType !== undefined && /\btext\/html\b/i.test(contentType)) return true;
  const head = start.slice(0, SNIFF_CHARS).toLowerCase();
  return /^(<\?xml[^>]*>\s*)?<!doctype html/.test(head) || /^<(html|head|body)[\s>]/.test(head);
}
