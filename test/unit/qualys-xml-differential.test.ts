// The streaming XML reader (saxes under xml-body-reader, xml-tree-builder) held to the parser the
// connector first used: fast-xml-parser as src/qualys/xml.ts configured it (commit 38b0b8c), kept here as
// the reference. Every fixture — whole, cut short at seeded points, and with one character changed at seeded
// points — must give the same document under both, or be refused by both, or be one of the few explained
// differences listed below. Anything else fails, naming the fixture, the case and both outcomes.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { QualysError } from '../../src/qualys/errors';
import { isRecord, parseQualysXml, type XmlContext, type XmlDocument } from '../../src/qualys/xml';
import { XmlBodyReader } from '../../src/qualys/xml-body-reader';
import { fixture, fixturePath } from './fixtures/qualys/fake-qualys';
import { readInChunks } from './xml-reading';

const context: XmlContext = { endpoint: 'hostDetection', httpStatus: 200 };

const TRUNCATIONS_PER_FIXTURE = 40;
const MUTATIONS_PER_FIXTURE = 40;
/** What a mutation writes in place of one character: markup, entity, quote and CDATA-end starters, and plain text. */
const REPLACEMENTS = ['<', '>', '&', '"', '/', ']', 'x', ' '] as const;

// ---------------------------------------------------------------------------------------------------
// The reference: the old fast-xml-parser configuration, copied (not imported) so it cannot drift along.

const referenceListItems: ReadonlySet<string> = new Set([
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

function referenceIsListItem(tagName: string, jPath: string): boolean {
  const parts = jPath.split('.');
  const parent = parts[parts.length - 2];
  return parent === 'list' || referenceListItems.has(`${parent}.${tagName}`);
}

const referenceParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  tagValueProcessor: (_tagName, value) => value.trim(),
  htmlEntities: true,
  isArray: (tagName, jPath) => typeof jPath === 'string' && referenceIsListItem(tagName, jPath),
});

/** What a parser made of a body: the document, or why it refused it. */
type Outcome = { accepted: true; document: XmlDocument } | { accepted: false; reason: string };

const refused = (reason: string): Outcome => ({ accepted: false, reason });

/** The old `parseQualysXml`, less its HTML sniffing (no fixture or mutation here looks like HTML). */
function referenceParse(body: string): Outcome {
  const text = body.replace(/^\uFEFF/, '');
  if (text.trim() === '') return refused('empty body');
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    return refused(`validator: ${msg} at line ${line}, column ${col}`);
  }
  let parsed: unknown;
  try {
    parsed = referenceParser.parse(text);
  } catch (error) {
    // The validator lets a few defects through (e.g. an unterminated comment after the root).
    return refused(`parser: ${error instanceof Error ? error.message : String(error)}`);
  }
  const rootNames = isRecord(parsed) ? Object.keys(parsed) : [];
  if (!isRecord(parsed) || rootNames.length !== 1) return refused('not a single root element');
  const rootName = rootNames[0] as string;
  return { accepted: true, document: { rootName, root: parsed[rootName] } };
}

// ---------------------------------------------------------------------------------------------------
// The parser under test, whole and in chunks.

/** A QualysError is a refusal; anything else thrown is a crash, and fails the test as it is. */
function outcomeOf(parse: () => XmlDocument): Outcome {
  try {
    return { accepted: true, document: parse() };
  } catch (error) {
    if (error instanceof QualysError) return refused(error.message);
    throw error;
  }
}

function streamingParse(body: string): Outcome {
  return outcomeOf(() => parseQualysXml(body, context));
}

function streamingParseInChunks(body: string, size: number): Outcome {
  return outcomeOf(() => readInChunks(body, size, context));
}

// ---------------------------------------------------------------------------------------------------
// The cases: deterministic, from a PRNG seeded by the fixture's name (adding a fixture moves no other's cases).

interface Case {
  fixture: string;
  kind: 'whole' | 'truncation' | 'mutation';
  /** Where the body was cut, or which character was replaced. */
  offset: number;
  /** The fixture as it was. */
  original: string;
  /** The body both parsers read. */
  body: string;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; returns floats in [0, 1). */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the fixture's name: its PRNG seed. */
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Spans [start, end) of the text matching `pattern` (global). */
function spans(text: string, pattern: RegExp): Array<[number, number]> {
  return [...text.matchAll(pattern)].map((match) => [match.index ?? 0, (match.index ?? 0) + match[0].length]);
}

const inSpans = (offset: number, ranges: ReadonlyArray<[number, number]>): boolean =>
  ranges.some(([start, end]) => offset >= start && offset < end);

/** The DOCTYPE (these fixtures have no internal subset): a quoted system literal may hold anything but its quote. */
const doctypeSpans = (text: string) => spans(text, /<!DOCTYPE(?:[^>"']|"[^"]*"|'[^']*')*>/g);

/** The index just after the root element's end tag: what follows may only be white space and comments. */
function rootEnd(text: string, rootName: string): number {
  const endTag = `</${rootName}>`;
  return text.lastIndexOf(endTag) + endTag.length;
}

/** ~40 cut points, one in each of 40 equal stretches of the body, plus both sides of the root's end. */
function truncations(name: string, original: string, rootEndAt: number): Case[] {
  const random = prng(seedOf(`${name}#truncation`));
  const cuts = new Set<number>();
  const stretch = (original.length - 1) / TRUNCATIONS_PER_FIXTURE;
  for (let k = 0; k < TRUNCATIONS_PER_FIXTURE; k++) cuts.add(1 + Math.floor((k + random()) * stretch));
  cuts.add(rootEndAt - 1);
  cuts.add(rootEndAt);
  return [...cuts]
    .filter((cut) => cut > 0 && cut < original.length)
    .sort((a, b) => a - b)
    .map((cut) => ({ fixture: name, kind: 'truncation', offset: cut, original, body: original.slice(0, cut) }));
}

/** ~40 single-character replacements at seeded offsets outside the DOCTYPE, each changing the body. */
function mutations(name: string, original: string): Case[] {
  const random = prng(seedOf(`${name}#mutation`));
  // fast-xml-parser's validator refuses a "<" in the DOCTYPE's quoted system literal, which XML allows.
  const doctype = doctypeSpans(original);
  const cases: Case[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; cases.length < MUTATIONS_PER_FIXTURE && attempt < MUTATIONS_PER_FIXTURE * 20; attempt++) {
    const offset = Math.floor(random() * original.length);
    const replacement = REPLACEMENTS[Math.floor(random() * REPLACEMENTS.length)] as string;
    const key = `${offset}:${replacement}`;
    if (inSpans(offset, doctype) || original[offset] === replacement || seen.has(key)) continue;
    seen.add(key);
    const body = original.slice(0, offset) + replacement + original.slice(offset + 1);
    cases.push({ fixture: name, kind: 'mutation', offset, original, body });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------
// The known differences: each a malformed body one parser reads and the other does not, and why.

interface KnownDifference {
  name: string;
  /** Which side accepts: the new parser (and the reference refuses), or the reference. */
  accepts: 'new' | 'reference';
  applies(c: Case): boolean;
}

const replaced = (c: Case): string | undefined => (c.kind === 'mutation' ? c.body[c.offset] : undefined);

const cdataOpeners = (text: string) => spans(text, /<!\[CDATA\[/g);
/** Attribute values inside start tags, quotes excluded. */
function attributeValueSpans(text: string): Array<[number, number]> {
  const values: Array<[number, number]> = [];
  for (const [start, end] of spans(text, /<[A-Za-z_][^\s/>]*(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g)) {
    for (const [valueStart, valueEnd] of spans(text.slice(start, end), /"[^"]*"|'[^']*'/g)) values.push([start + valueStart + 1, start + valueEnd - 1]);
  }
  return values;
}
const xmlDeclaration = (text: string) => spans(text, /^<\?xml[^>]*\?>/g);

const knownDifferences: readonly KnownDifference[] = [
  {
    // `<![CDAA[` is neither CDATA, a comment nor a DOCTYPE: XML forbids it; fast-xml-parser read on past it.
    name: 'a broken CDATA opener',
    accepts: 'reference',
    applies: (c) => c.kind === 'mutation' && inSpans(c.offset, cdataOpeners(c.original)),
  },
  {
    // XML forbids a "<" in an attribute value (AttValue production); fast-xml-parser took it as text.
    name: 'a "<" inside an attribute value',
    accepts: 'reference',
    applies: (c) => replaced(c) === '<' && inSpans(c.offset, attributeValueSpans(c.original)),
  },
  {
    // XML forbids a bare "&" in an attribute value as in text; fast-xml-parser refused it only in text.
    name: 'a bare "&" inside an attribute value',
    accepts: 'reference',
    applies: (c) => replaced(c) === '&' && inSpans(c.offset, attributeValueSpans(c.original)),
  },
  {
    // XML's XMLDecl production: saxes checks the declaration; fast-xml-parser skipped it (ignoreDeclaration).
    name: 'a broken XML declaration',
    accepts: 'reference',
    applies: (c) => c.kind === 'mutation' && inSpans(c.offset, xmlDeclaration(c.original)),
  },
];

// ---------------------------------------------------------------------------------------------------
// Comparing.

const describeOutcome = (outcome: Outcome): string =>
  outcome.accepted ? `accepted <${outcome.document.rootName}>` : `refused (${outcome.reason.slice(0, 200)})`;

function describeCase(c: Case): string {
  const excerpt = JSON.stringify(c.body.slice(Math.max(0, c.offset - 30), c.offset + 30));
  return `${c.fixture}, ${c.kind} at offset ${c.offset}, around ${excerpt}`;
}

/** Tally of what was compared, for the sanity check at the end (the comparison must not be vacuous). */
const tally = { cases: 0, bothAccepted: 0, bothRefused: 0, knownDifferences: 0 };

/** The problem with one case, or undefined when the two parsers agree (or differ in a known way). */
function compare(c: Case, rootEndAt: number): string | undefined {
  tally.cases += 1;
  const fresh = streamingParse(c.body);
  const reference = referenceParse(c.body);
  const outcomes = `new ${describeOutcome(fresh)}; reference ${describeOutcome(reference)}`;

  // A body cut short must be an error — never a shorter page — unless only trailing comments or space were lost.
  if (c.kind === 'truncation' && c.offset < rootEndAt && fresh.accepted) return `${describeCase(c)}: a truncated body was accepted; ${outcomes}`;

  if (fresh.accepted && reference.accepted) {
    tally.bothAccepted += 1;
    if (!isDeepStrictEqual(fresh.document, reference.document)) {
      return `${describeCase(c)}: both accept, documents differ:\n  new ${JSON.stringify(fresh.document)}\n  ref ${JSON.stringify(reference.document)}`;
    }
    return undefined;
  }
  if (!fresh.accepted && !reference.accepted) {
    tally.bothRefused += 1;
    return undefined;
  }
  const accepts = fresh.accepted ? 'new' : 'reference';
  if (knownDifferences.some((known) => known.accepts === accepts && known.applies(c))) {
    tally.knownDifferences += 1;
    return undefined;
  }
  return `${describeCase(c)}: only the ${accepts === 'new' ? 'new parser' : 'reference'} accepts; ${outcomes}`;
}

const xmlFixtures = readdirSync(path.dirname(fixturePath('x')))
  .filter((name) => name.endsWith('.xml'))
  .sort();

describe('the streaming XML reader against fast-xml-parser (the parser it replaced)', () => {
  it('has fixtures to compare, the realistic ones among them', () => {
    expect(xmlFixtures.length).toBeGreaterThanOrEqual(20);
    expect(xmlFixtures).toEqual(expect.arrayContaining(['knowledge-base-realistic.xml', 'hostasset-cloud.xml', 'detections-utf8.xml']));
  });

  it.each(xmlFixtures)('%s: the same document whole, and the same verdict cut short and with one character changed', (name) => {
    const original = fixture(name);
    const whole = referenceParse(original);
    if (!whole.accepted) throw new Error(`the reference refuses fixture ${name}: ${whole.reason}`);
    const rootEndAt = rootEnd(original, whole.document.rootName);
    const cases: Case[] = [
      { fixture: name, kind: 'whole', offset: 0, original, body: original },
      ...truncations(name, original, rootEndAt),
      ...mutations(name, original),
    ];
    const problems = cases.map((c) => compare(c, rootEndAt)).filter((problem) => problem !== undefined);
    expect(problems).toEqual([]);
  });

  it.each(xmlFixtures)('%s read in chunks of 1, 7 and 4096 bytes gives the reference document', (name) => {
    const body = fixture(name);
    const reference = referenceParse(body);
    for (const size of [1, 7, 4096]) expect(streamingParseInChunks(body, size)).toEqual(reference);
  });

  it('compared many documents both accept and many both refuse', () => {
    // Runs after the per-fixture cases (jest runs a file's tests in order): the comparison was not vacuous.
    expect(tally.cases).toBeGreaterThan(xmlFixtures.length * (TRUNCATIONS_PER_FIXTURE + MUTATIONS_PER_FIXTURE));
    expect(tally.bothAccepted).toBeGreaterThan(xmlFixtures.length * 10);
    expect(tally.bothRefused).toBeGreaterThan(xmlFixtures.length * 40);
  });
});

describe('the known differences are still what the list says', () => {
  // Each, written out: if one parser's behaviour changes, the list must be changed with it.
  const host = '<HOST_LIST_OUTPUT><RESPONSE><T a="1">x</T><C><![CDATA[ y ]]></C></RESPONSE></HOST_LIST_OUTPUT>';
  const declaration = '<?xml version="1.0" encoding="UTF-8" ?>\n';
  const firstDifference = (a: string, b: string): number => {
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    return i;
  };
  const knownCase = (body: string, offset: number): Case => ({
    fixture: '(written out)',
    kind: 'mutation',
    offset,
    original: declaration + host,
    body,
  });

  it.each([
    ['a broken CDATA opener', 'reference', declaration + host.replace('CDATA', 'CDAA_')],
    ['a "<" inside an attribute value', 'reference', declaration + host.replace('a="1"', 'a="<"')],
    ['a bare "&" inside an attribute value', 'reference', declaration + host.replace('a="1"', 'a="&"')],
    ['a broken XML declaration', 'reference', declaration.replace('version', 'versi n') + host],
  ] as ReadonlyArray<readonly [string, KnownDifference['accepts'], string]>)('%s: only the %s parser accepts it', (name, accepts, body) => {
    const fresh = streamingParse(body);
    const reference = referenceParse(body);
    expect([fresh.accepted, reference.accepted]).toEqual([accepts === 'new', accepts === 'reference']);
    const known = knownDifferences.find((difference) => difference.name === name);
    expect(known?.applies(knownCase(body, firstDifference(body, declaration + host)))).toBe(true);
  });
});

describe("XML 1.0's reading of the inputs a hand-written tokenizer misread, whole and split at every byte", () => {
  /** The body's bytes in two pieces, cut at `at`, and what the reader made of them. */
  const readSplit = (bytes: Buffer, at: number): { document: XmlDocument; replaced: Record<string, unknown> } => {
    const reader = new XmlBodyReader(context);
    reader.writeBytes(bytes.subarray(0, at));
    reader.writeBytes(bytes.subarray(at));
    const document = reader.end();
    return { document, replaced: Object.fromEntries(reader.replacedCharacters) };
  };
  const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
  const utf16le = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  const utf16be = (text: string): Buffer => {
    const le = Buffer.from(text, 'utf16le');
    for (let i = 0; i < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1] as number, le[i] as number];
    return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
  };

  it.each([
    ['CR LF inside CDATA is one line feed', utf8('<A><![CDATA[x\r\ny]]></A>'), 'x\ny', {}],
    ['a lone CR is a line feed', utf8('<A>x\ry</A>'), 'x\ny', {}],
    ['&#13; is a carriage return', utf8('<A>x&#13;y</A>'), 'x\ry', {}],
    ['&#13;&#10; is CR LF', utf8('<A>x&#13;&#10;y</A>'), 'x\r\ny', {}],
    ['ISO-8859-1, declared', latin1('<?xml version="1.0" encoding="ISO-8859-1"?><A>Caf\xe9 \x85</A>'), 'Caf\u00e9 \u0085', {}],
    ['windows-1252, declared', latin1('<?xml version="1.0" encoding="windows-1252"?><A>\x80 caf\xe9</A>'), '\u20ac caf\u00e9', {}],
    ['UTF-16LE with a byte order mark', utf16le('<?xml version="1.0" encoding="UTF-16"?><A>Caf\u00e9 \u4f01 \u{1f680}</A>'), 'Caf\u00e9 \u4f01 \u{1f680}', {}],
    ['UTF-16BE with a byte order mark', utf16be('<A>Caf\u00e9 \u{1f680}</A>'), 'Caf\u00e9 \u{1f680}', {}],
    ['UTF-8 with a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8('<A>\u00e9</A>')]), '\u00e9', {}],
    ['an invalid UTF-8 byte is U+FFFD, counted', Buffer.concat([utf8('<A>Caf'), Buffer.from([0xe9]), utf8('</A>')]), 'Caf\ufffd', { A: { characters: 1, values: 1 } }],
    ['NUL and ESC are U+FFFD, counted', utf8('<A><B>a\u0000b\u001b[31m</B></A>'), { B: 'a\ufffdb\ufffd[31m' }, { 'A.B': { characters: 2, values: 1 } }],
    ['&#0; and &#x1B; are U+FFFD, counted', utf8('<A><B c="&#0;">a&#0;b&#x1B;c&#65;</B></A>'), { B: { '#text': 'a\ufffdb\ufffdcA', '@c': '\ufffd' } }, { 'A.B': { characters: 2, values: 1 }, 'B@c': { characters: 1, values: 1 } }],
    [
      'names Object.prototype has',
      utf8('<A><constructor toString="1">x</constructor><__proto__>y</__proto__><hasOwnProperty/></A>'),
      { constructor: { '#text': 'x', '@toString': '1' }, ['__proto__']: 'y', hasOwnProperty: '' },
      {},
    ],
    ['a DOCTYPE subset whose comment holds an apostrophe', utf8("<!DOCTYPE A [<!-- it's --><!ELEMENT A (#PCDATA)>]><A>x</A>"), 'x', {}],
    ['a DOCTYPE subset whose comment holds a "]"', utf8('<!DOCTYPE A [<!-- a ] b --><!ELEMENT A (#PCDATA)>]><A>x</A>'), 'x', {}],
  ])('%s', (_name, bytes, root, replaced) => {
    for (let at = 0; at <= bytes.length; at++) {
      const read = readSplit(bytes, at);
      const expectedRoot: unknown = typeof root === 'string' ? root : JSON.parse(JSON.stringify(root));
      expect({ at, root: read.document.root, replaced: read.replaced }).toEqual({ at, root: expectedRoot, replaced });
    }
  });
});
