// The streaming parse (saxes under xml-body-reader, xml-tree-builder): a body read in chunks of any
// size — cut inside tags, entities, CDATA, CRLFs or multi-byte characters — gives exactly what the whole
// body gives; records are handed over before the body ends, and a body cut short is an error at the end,
// never a short page; well-formedness and shape errors are what the tree parser's were.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { hostDetectionRecords, parseHostDetectionPage } from '../../src/qualys/parse-host-detection';
import { hostIdRecords, parseHostIdPage, pushHostIds } from '../../src/qualys/parse-host-list';
import { knowledgeBaseRecords, parseKnowledgeBasePage } from '../../src/qualys/parse-knowledge-base';
import type { HostDetections, KnowledgeBaseVuln } from '../../src/qualys/schemas';
import { parseQualysXml, type XmlContext } from '../../src/qualys/xml';
import { XmlBodyReader } from '../../src/qualys/xml-body-reader';
import { fixture, fixturePath } from './fixtures/qualys/fake-qualys';
import { readInChunks, thrownQualysError } from './xml-reading';

const hld: XmlContext = { endpoint: 'hostDetection', httpStatus: 200 };
const kb: XmlContext = { endpoint: 'knowledgeBase', httpStatus: 200 };
const hostList: XmlContext = { endpoint: 'hostList', httpStatus: 200 };

const xmlFixtures = readdirSync(path.dirname(fixturePath('x'))).filter((name) => name.endsWith('.xml'));

describe('chunked reading', () => {
  it.each(xmlFixtures)('%s reads the same in chunks of 1, 2, 3, 7 and 64 bytes as whole', (name) => {
    const body = fixture(name);
    const whole = parseQualysXml(body, hld);
    for (const size of [1, 2, 3, 7, 64]) expect(readInChunks(body, size, hld)).toEqual(whole);
  });

  it('keeps multi-byte characters, entities, CDATA padding and CRLFs split across chunks intact; HTML names stay as written', () => {
    const body =
      '<A><OS><![CDATA[\r\n  Windows 10 企业版 🚀  \r\n]]></OS><T>It&#039;s &amp; &lt;b&gt; &nbsp;€&euro;</T>' +
      '<R>line one\r\nline two\rline three</R><Q severity="HIGH &amp; rising">75</Q></A>';
    const expected = {
      OS: 'Windows 10 企业版 🚀',
      T: "It's & <b> &nbsp;€&euro;",
      R: 'line one\nline two\nline three',
      Q: { '#text': '75', '@severity': 'HIGH & rising' },
    };
    for (const size of [1, 2, 3, 4, 5, 11]) expect(readInChunks(body, size, hld).root).toEqual(expected);
  });

  it('hands each record over as soon as its end tag has been read, and leaves it out of the document', () => {
    const body = fixture('detections-page1.xml');
    const taken: HostDetections[] = [];
    const reader = new XmlBodyReader(hld, { reader: hostDetectionRecords, take: (host) => taken.push(host) });
    const secondHost = body.indexOf('<HOST>', body.indexOf('<HOST>') + 1);
    reader.write(body.slice(0, secondHost));
    expect(taken.map((h) => h.id)).toEqual(['120']);
    reader.write(body.slice(secondHost));
    const envelope = reader.end();
    expect(taken.map((h) => h.id)).toEqual(['120', '121']);
    // The envelope keeps the rest (the truncation WARNING), without the hosts.
    const page = parseHostDetectionPage(envelope, hld);
    expect(page.hosts).toEqual([]);
    expect(page.warning?.CODE).toBe('1980');
    // The records are those the whole-document path gives.
    expect(taken).toEqual(parseHostDetectionPage(parseQualysXml(body, hld), hld).hosts);
  });

  it('streams KnowledgeBase VULNs exactly as the whole-document path reads them', () => {
    const body = fixture('knowledge-base-realistic.xml');
    const taken: KnowledgeBaseVuln[] = [];
    readInChunks(body, 5, kb, { reader: knowledgeBaseRecords, take: (vuln) => taken.push(vuln) });
    expect(taken).toEqual(parseKnowledgeBasePage(parseQualysXml(body, kb), kb).vulns);
  });

  it('streams a host ID set entry by entry, in document order, as the whole-document path expands it; the envelope keeps DATETIME only', () => {
    const body = fixture('host-list-ids.xml');
    for (const size of [1, 7, 64]) {
      const ids: number[] = [];
      const envelope = readInChunks(body, size, hostList, { reader: hostIdRecords(), take: (run) => pushHostIds(ids, run) });
      expect(ids).toEqual([9000001, 120, 121, 122, 123, 77, 500, 501]);
      expect([...ids].sort((a, b) => a - b)).toEqual([...parseHostIdPage(parseQualysXml(body, hostList), hostList).ids].sort((a, b) => a - b));
      const page = parseHostIdPage(envelope, hostList);
      expect(page.ids).toEqual([]);
      expect(page.responseTime).toBe('2024-05-02T10:15:00Z');
    }
  });

  it('fails the page on an unreadable host ID entry, streamed or not, even where odd records are quarantined: a lost ID would remove its host', () => {
    const good = fixture('host-list-ids.xml');
    for (const [entry, message] of [
      ['<ID>77a</ID>', 'invalid host ID "77a"'],
      ['<ID_RANGE>500-499</ID_RANGE>', 'invalid ID_RANGE "500-499"'],
      ['<ID><X>1</X></ID>', 'expected a text value'],
    ] as const) {
      const body = good.replace('<ID>77</ID>', entry);
      const rejected: unknown[] = [];
      const sink = { reader: hostIdRecords(), take: () => undefined, reject: (record: unknown) => rejected.push(record) };
      const streamed = thrownQualysError(() => readInChunks(body, 16, hostList, sink));
      expect(streamed.kind).toBe('malformed-response');
      expect(streamed.message).toContain(message);
      expect(rejected).toEqual([]);
      expect(thrownQualysError(() => parseHostIdPage(parseQualysXml(body, hostList), hostList)).message).toContain(message);
    }
  });
});

describe('a body cut short', () => {
  it('is an error at the end wherever it is cut — never a shorter page — though earlier records were handed over', () => {
    const body = fixture('detections-page1.xml');
    const rootEnd = body.indexOf('</HOST_LIST_VM_DETECTION_OUTPUT>') + '</HOST_LIST_VM_DETECTION_OUTPUT>'.length;
    for (let cut = 1; cut < rootEnd; cut += 7) {
      const taken: HostDetections[] = [];
      const e = thrownQualysError(() => readInChunks(body.slice(0, cut), 64, hld, { reader: hostDetectionRecords, take: (host) => taken.push(host) }));
      expect(e.kind).toBe('malformed-response');
      expect(e.retryable).toBe(true);
      expect(e.message).toMatch(/^Host List Detection returned XML that is not well-formed \((unclosed tag|unexpected end|document must contain a root element)/);
    }
  });

  it('is an error for a host ID set cut at any byte, though its earlier entries were taken', () => {
    const body = fixture('host-list-ids.xml');
    const rootEnd = body.indexOf('</HOST_LIST_OUTPUT>') + '</HOST_LIST_OUTPUT>'.length;
    for (let cut = 1; cut < rootEnd; cut += 1) {
      const e = thrownQualysError(() => readInChunks(body.slice(0, cut), 16, hostList, { reader: hostIdRecords(), take: () => undefined }));
      expect(e.kind).toBe('malformed-response');
      expect(e.message).toMatch(/^Host List returned (XML that is not well-formed|an empty body|XML without a root element)/);
    }
  });
});

describe('what is refused, as XML 1.0 refuses it', () => {
  it.each([
    ['a bare "&"', '<A><T>a & b</T><U>&amp;</U></A>', 'disallowed character in entity name'],
    ['mismatched tags', '<A><B>1</b></A>', 'unexpected close tag'],
    ['a repeated attribute', '<A><T a="1" a="2">x</T></A>', 'duplicate attribute: a'],
    ['an unquoted attribute', '<A><T a=1>x</T></A>', 'unquoted attribute value'],
    ['a "<" in an attribute value', '<A><T a="<">x</T></A>', 'disallowed character'],
    ['text after the root', '<A><B>1</B></A>junk', 'text data outside of root node'],
    ['a second root', '<A/><B/>', 'documents may contain only one root'],
    ['an invalid name', '<A><1B>x</1B></A>', 'disallowed character in tag name'],
    ['an unterminated comment', '<A></A><!-- never closed', 'unexpected end'],
  ])('%s', (_what, body, problem) => {
    const e = thrownQualysError(() => readInChunks(body, 3, hld));
    expect(e.kind).toBe('malformed-response');
    expect(e.message).toContain(`not well-formed (${problem} at line 1, column `);
  });

  it('reads names JavaScript objects inherit as any other name', () => {
    const body = '<A><__proto__ constructor="1">x</__proto__><constructor>y</constructor><toString/></A>';
    const root = readInChunks(body, 3, hld).root as Record<string, unknown>;
    expect(Object.getPrototypeOf(root)).toBe(Object.prototype);
    expect(Object.entries(root)).toEqual([
      ['__proto__', { '#text': 'x', '@constructor': '1' }],
      ['constructor', 'y'],
      ['toString', ''],
    ]);
  });

  it('expands no entity a document declares itself (no expansion bomb), and leaves unknown ones as written', () => {
    const bomb = '<!DOCTYPE A [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><A><T>&b;&b;</T><U>&foo;</U></A>';
    expect(readInChunks(bomb, 4, hld).root).toEqual({ T: '&b;&b;', U: '&foo;' });
  });

  it('names an HTML page by its title, also when its start arrives a few bytes at a time', () => {
    const e = thrownQualysError(() => readInChunks(fixture('bad-gateway.html'), 3, { ...hld, httpStatus: 502 }));
    expect(e.message).toBe(
      'Host List Detection returned an HTML page (status 502) instead of XML — a proxy or load balancer answered ("502 Bad Gateway").',
    );
  });

  it.each([
    ['by its html root, though it is not well-formed XML', '<html><head><meta charset="utf-8"><title>Sign in</title></head><body><br></body></html>'],
    ['by its HTML 4 DOCTYPE', '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML><HEAD><TITLE>Sign in</TITLE><BODY>&nbsp;<p>x'],
  ])('tells an HTML page served as XML %s, and names it', (_how, body) => {
    const e = thrownQualysError(() => readInChunks(body, 2, { ...hld, contentType: 'text/xml' }));
    expect(e.message).toBe('Host List Detection returned an HTML page (status 200) instead of XML — a proxy or load balancer answered ("Sign in").');
  });

  it('calls a body of white space empty', () => {
    expect(thrownQualysError(() => readInChunks(' \n\t ', 1, kb)).message).toBe('KnowledgeBase returned an empty body (HTTP 200) instead of XML.');
  });
});

describe('a record that cannot be read, without a taker for rejects', () => {
  it('fails as it is read, naming its path from the root with its index, the host and the QID; not retryable', () => {
    const body = fixture('detections-page1.xml').replace('<QID>105943</QID>', '<QID>105943-b</QID>');
    const taken: HostDetections[] = [];
    const e = thrownQualysError(() => readInChunks(body, 100, hld, { reader: hostDetectionRecords, take: (host) => taken.push(host) }));
    expect(taken.map((h) => h.id)).toEqual(['120']);
    expect(e.kind).toBe('malformed-response');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(
      'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[1].DETECTION_LIST.DETECTION[1].QID (HOST ID 121 › DETECTION QID 105943-b): expected a numeric ID, got "105943-b"',
    );
  });
});
