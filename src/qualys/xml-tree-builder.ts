import type { XmlHandler } from './xml-tokenizer';

/**
 * Elements that are list items, keyed by their parent. They always come out as arrays, so a response
 * with one HOST looks like one with many. Keyed by parent because some names are lists in one place and
 * scalars in another (ID_SET/ID is a list; HOST/ID and CVE/ID are not).
 */
export const LIST_ITEMS: ReadonlySet<string> = new Set([
  'ID_SET.ID',
  'ID_SET.ID_RANGE',
  'HOST_LIST.HOST',
  'DETECTION_LIST.DETECTION',
  'QDS_FACTORS.QDS_FACTOR',
  'TAGS.TAG',
  'CLOUD_PROVIDER_TAGS.CLOUD_TAG',
  'VULN_LIST.VULN',
  'CVE_LIST.CVE',
  'ITEM_LIST.ITEM',
  'data.HostAsset',
]);

/** LIST_ITEMS as child → parents, looked up without building a string per element. */
const LIST_PARENTS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const parents = new Map<string, Set<string>>();
  for (const item of LIST_ITEMS) {
    const [parent, child] = item.split('.') as [string, string];
    parents.set(child, (parents.get(child) ?? new Set()).add(parent));
  }
  return parents;
})();

export function isListItem(tagName: string, parentName: string | undefined): boolean {
  // QPS wraps every collection as <x><list><Item/>…</list></x> (HostAssetInterface, TagSimple, …).
  if (parentName === 'list') return true;
  return parentName !== undefined && LIST_PARENTS.get(tagName)?.has(parentName) === true;
}

/** Where a document's records are, and who takes each one as soon as its end tag has been read. */
export interface RecordRoute {
  /** Element names from the root to the record element, e.g. HOST_LIST_OUTPUT › RESPONSE › HOST_LIST › HOST. */
  path: readonly string[];
  /** Gets each record's value (the shape `xml.ts` gives an element), in document order. */
  record(value: unknown, index: number): void;
}

interface Frame {
  name: string;
  children: Record<string, unknown> | undefined;
  attributes: Record<string, string> | undefined;
  /** The element's text: its text nodes and CDATA sections, each trimmed, joined. */
  text: string;
  /** A text node or CDATA section arriving in pieces. */
  pending: string;
}

/**
 * Builds the values the tree parser (`xml.ts`) builds — leaves are trimmed strings, an element with
 * children or attributes an object (`#text`, `@name`), repeated elements and list items arrays — but
 * hands each record to the route the moment it is complete and keeps nothing of it. What remains at
 * the end is the document without its records: the envelope (DATETIME, WARNING, counts, errors).
 */
export class XmlTreeBuilder implements XmlHandler {
  readonly #route: RecordRoute | undefined;
  readonly #frames: Frame[] = [];
  /** How many of the open elements, from the root, follow the route's path. */
  #onPath = 0;
  #records = 0;
  #rootName: string | undefined;
  #root: unknown;

  constructor(route?: RecordRoute) {
    this.#route = route;
  }

  /** The root element's name, once its start tag has been read. */
  get rootName(): string | undefined {
    return this.#rootName;
  }

  /** The root element's value (less its records), once the document is complete. */
  get root(): unknown {
    return this.#root;
  }

  get records(): number {
    return this.#records;
  }

  open(name: string, attributes: Record<string, string> | undefined): void {
    const frames = this.#frames;
    if (frames.length === 0) this.#rootName = name;
    const path = this.#route?.path;
    if (path !== undefined && this.#onPath === frames.length && path[frames.length] === name) this.#onPath += 1;
    frames.push({ name, children: undefined, attributes, text: '', pending: '' });
  }

  text(piece: string, last: boolean): void {
    const frame = this.#frames[this.#frames.length - 1];
    if (frame === undefined) return;
    if (!last) {
      frame.pending += piece;
      return;
    }
    const node = frame.pending === '' ? piece : frame.pending + piece;
    frame.pending = '';
    const trimmed = node.trim();
    if (trimmed !== '') frame.text = frame.text === '' ? trimmed : frame.text + trimmed;
  }

  close(): void {
    const frames = this.#frames;
    const frame = frames.pop();
    if (frame === undefined) return;
    const value = valueOf(frame);
    const depth = frames.length;
    if (this.#onPath === depth + 1) {
      this.#onPath = depth;
      if (this.#route !== undefined && depth + 1 === this.#route.path.length) {
        this.#route.record(value, this.#records++);
        return;
      }
    }
    const parent = frames[depth - 1];
    if (parent === undefined) this.#root = value;
    else attach(parent, frame.name, value);
  }

  leaf(name: string, text: string): void {
    const frames = this.#frames;
    const parent = frames[frames.length - 1];
    const path = this.#route?.path;
    if (parent === undefined || (path !== undefined && this.#onPath === frames.length && path[frames.length] === name)) {
      // The root, or a record: the long way, so nothing is special-cased twice.
      this.open(name, undefined);
      this.text(text, true);
      this.close();
      return;
    }
    attach(parent, name, text.trim());
  }
}

/** Keys are element names, never inherited ones (the tokenizer refuses those), so plain objects do. */
function attach(parent: Frame, name: string, value: unknown): void {
  const children = (parent.children ??= {});
  const existing = children[name];
  if (existing === undefined) children[name] = isListItem(name, parent.name) ? [value] : value;
  else if (Array.isArray(existing)) existing.push(value);
  else children[name] = [existing, value];
}

function valueOf(frame: Frame): unknown {
  if (frame.children === undefined && frame.attributes === undefined) return frame.text;
  const value = frame.children ?? {};
  if (frame.text !== '') value['#text'] = frame.text;
  if (frame.attributes !== undefined) {
    // Trimmed like element text (as the tree parser did): Qualys pads neither, but a value is read the same either way.
    for (const [name, text] of Object.entries(frame.attributes)) value[`@${name}`] = text.trim();
  }
  return value;
}
