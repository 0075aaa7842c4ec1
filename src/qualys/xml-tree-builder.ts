import { REPLACEMENT_CHARACTER } from './xml-decoder';
import { XML_LIMITS, XmlLimitExceeded, type XmlLimitName } from './xml-limits';

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

/**
 * One step of a route: an element name, or the names any of which is a record where a list mixes two
 * kinds (ID_SET holds ID and ID_RANGE).
 */
export type RouteStep = string | readonly string[];

/** Where a document's records are, and who takes each one as soon as its end tag has been read. */
export interface RecordRoute {
  /** Element names from the root to the record element, e.g. HOST_LIST_OUTPUT › RESPONSE › HOST_LIST › HOST. */
  path: readonly RouteStep[];
  /** Gets each record's value (the shape described on `XmlTreeBuilder`) and element name, in document order. */
  record(value: unknown, index: number, name: string): void;
}

function stepMatches(step: RouteStep | undefined, name: string): boolean {
  return typeof step === 'string' ? step === name : step !== undefined && step.includes(name);
}

/** Characters that arrived as, or were replaced by, U+FFFD in one field: `DETECTION.RESULTS`, `HOST@id`. */
export interface ReplacedCharacters {
  characters: number;
  /** Values (elements or attributes) holding at least one. */
  values: number;
}

interface Frame {
  name: string;
  children: Record<string, unknown> | undefined;
  attributes: Record<string, string> | undefined;
  /** The element's text: its text nodes and CDATA sections, each trimmed, joined. */
  text: string;
}

/**
 * Builds, from the parser's events, the values the readers validate — leaves are trimmed strings, an
 * element with children or attributes an object (`#text`, `@name`), repeated elements and list items
 * arrays — and hands each record to the route the moment it is complete, keeping nothing of it. What
 * remains at the end is the document without its records: the envelope (DATETIME, WARNING, counts,
 * errors). Everything it holds is counted against `XML_LIMITS`.
 */
export class XmlTreeBuilder {
  readonly #route: RecordRoute | undefined;
  readonly #frames: Frame[] = [];
  /** How many of the open elements, from the root, follow the route's path. */
  #onPath = 0;
  #records = 0;
  #rootName: string | undefined;
  #root: unknown;
  /** Inside a record: its element count and characters so far. */
  #recordElements = 0;
  #recordCharacters = 0;
  #envelopeElements = 0;
  #envelopeAttributes = 0;
  #envelopeCharacters = 0;
  readonly #envelopeNames = new Set<string>();
  readonly #replaced = new Map<string, ReplacedCharacters>();

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

  /** Elements open now. */
  get depth(): number {
    return this.#frames.length;
  }

  /** U+FFFD characters in values, by field. */
  get replacedCharacters(): ReadonlyMap<string, ReplacedCharacters> {
    return this.#replaced;
  }

  open(name: string, attributes: Record<string, string> | undefined): void {
    const frames = this.#frames;
    const depth = frames.length;
    if (depth >= XML_LIMITS.depth) throw new XmlLimitExceeded('depth');
    if (depth === 0) this.#rootName = name;
    const path = this.#route?.path;
    if (path !== undefined && this.#onPath === depth && stepMatches(path[depth], name)) {
      this.#onPath += 1;
      if (this.#onPath === path.length) {
        this.#recordElements = 0;
        this.#recordCharacters = 0;
      }
    }
    let attributeCharacters = 0;
    if (attributes !== undefined) {
      for (const key in attributes) {
        const value = attributes[key] as string;
        attributeCharacters += value.length;
        if (value.indexOf(REPLACEMENT_CHARACTER) !== -1) this.#countReplaced(`${name}@${key}`, value);
      }
    }
    if (this.#inRecord()) {
      this.#recordElements += 1;
      if (this.#recordElements > XML_LIMITS.recordElements) throw new XmlLimitExceeded('recordElements');
      this.#addRecordCharacters(attributeCharacters);
    } else {
      this.#countEnvelope('envelopeElements', (this.#envelopeElements += 1));
      if (!this.#envelopeNames.has(name)) {
        this.#envelopeNames.add(name);
        this.#countEnvelope('envelopeNames', this.#envelopeNames.size);
      }
      if (attributes !== undefined) this.#countEnvelope('envelopeAttributes', (this.#envelopeAttributes += Object.keys(attributes).length));
      this.#countEnvelope('envelopeCharacters', (this.#envelopeCharacters += attributeCharacters));
    }
    frames.push({ name, children: undefined, attributes, text: '' });
  }

  /** A text node or CDATA section of the open element (trimmed; indentation between elements is dropped). */
  text(node: string): void {
    const frame = this.#frames[this.#frames.length - 1];
    if (frame === undefined) return;
    const trimmed = node.trim();
    if (trimmed === '') return;
    if (this.#inRecord()) this.#addRecordCharacters(trimmed.length);
    else this.#countEnvelope('envelopeCharacters', (this.#envelopeCharacters += trimmed.length));
    frame.text = frame.text === '' ? trimmed : frame.text + trimmed;
  }

  close(): void {
    const frames = this.#frames;
    const frame = frames.pop();
    if (frame === undefined) return;
    const depth = frames.length;
    const parent = frames[depth - 1];
    if (frame.text !== '' && frame.text.indexOf(REPLACEMENT_CHARACTER) !== -1) {
      this.#countReplaced(parent === undefined ? frame.name : `${parent.name}.${frame.name}`, frame.text);
    }
    const value = valueOf(frame);
    if (this.#onPath === depth + 1) {
      this.#onPath = depth;
      if (this.#route !== undefined && depth + 1 === this.#route.path.length) {
        this.#route.record(value, this.#records++, frame.name);
        return;
      }
    }
    if (parent === undefined) this.#root = value;
    else attach(parent, frame.name, value);
  }

  #inRecord(): boolean {
    return this.#route !== undefined && this.#onPath === this.#route.path.length;
  }

  #addRecordCharacters(count: number): void {
    this.#recordCharacters += count;
    if (this.#recordCharacters > XML_LIMITS.recordCharacters) throw new XmlLimitExceeded('recordCharacters');
  }

  #countEnvelope(limit: XmlLimitName, count: number): void {
    if (count > XML_LIMITS[limit]) throw new XmlLimitExceeded(limit);
  }

  #countReplaced(field: string, value: string): void {
    let characters = 0;
    for (let at = value.indexOf(REPLACEMENT_CHARACTER); at !== -1; at = value.indexOf(REPLACEMENT_CHARACTER, at + 1)) characters += 1;
    const counted = this.#replaced.get(field);
    if (counted === undefined) this.#replaced.set(field, { characters, values: 1 });
    else {
      counted.characters += characters;
      counted.values += 1;
    }
  }
}

/** Sets an own property whatever the name (`__proto__` included): element names are the document's, not ours. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function attach(parent: Frame, name: string, value: unknown): void {
  const children = (parent.children ??= {});
  const existing = Object.hasOwn(children, name) ? children[name] : undefined;
  if (existing === undefined) setOwn(children, name, isListItem(name, parent.name) ? [value] : value);
  else if (Array.isArray(existing)) existing.push(value);
  else setOwn(children, name, [existing, value]);
}

function valueOf(frame: Frame): unknown {
  if (frame.children === undefined && frame.attributes === undefined) return frame.text;
  const value = frame.children ?? {};
  if (frame.text !== '') value['#text'] = frame.text;
  if (frame.attributes !== undefined) {
    // Trimmed like element text (as the tree parser did): Qualys pads neither, but a value is read the same either way.
    for (const name in frame.attributes) setOwn(value, `@${name}`, (frame.attributes[name] as string).trim());
  }
  return value;
}
