// Records as Qualys' DTDs allow them: what the DTD makes optional may be absent, unknown elements and
// attributes are ignored, a value of unexpected form is dropped and counted — never a failed page —
// and a record that still cannot be read is rejected with its path, reason and XML (or, without a
// taker for rejects, fails the page as before).
import { mapFindings } from '../../src/model/map-qualys';
import type { RejectedRecord } from '../../src/qualys/parse-document';
import { hostDetectionRecords } from '../../src/qualys/parse-host-detection';
import { knowledgeBaseRecords } from '../../src/qualys/parse-knowledge-base';
import type { HostDetections, KnowledgeBaseVuln } from '../../src/qualys/schemas';
import type { XmlContext } from '../../src/qualys/xml';
import { XmlBodyReader } from '../../src/qualys/xml-body-reader';
import { readInChunks, thrownQualysError } from './xml-reading';

const hld: XmlContext = { endpoint: 'hostDetection', httpStatus: 200 };
const kb: XmlContext = { endpoint: 'knowledgeBase', httpStatus: 200 };

const page = (hosts: string): string =>
  `<?xml version="1.0" encoding="UTF-8" ?><HOST_LIST_VM_DETECTION_OUTPUT><RESPONSE><DATETIME>2026-11-30T10:00:00Z</DATETIME><HOST_LIST>${hosts}</HOST_LIST></RESPONSE></HOST_LIST_VM_DETECTION_OUTPUT>`;

function read(body: string, size = 5): { hosts: HostDetections[]; rejected: RejectedRecord[]; reader: XmlBodyReader<HostDetections> } {
  const hosts: HostDetections[] = [];
  const rejected: RejectedRecord[] = [];
  const reader = new XmlBodyReader(hld, { reader: hostDetectionRecords, take: (host) => hosts.push(host), reject: (record) => rejected.push(record) });
  const bytes = Buffer.from(body, 'utf8');
  for (let at = 0; at < bytes.length; at += size) reader.writeBytes(bytes.subarray(at, at + size));
  reader.end();
  return { hosts, rejected, reader };
}

describe('what the DTD makes optional', () => {
  it('a host with only its ID, and a detection with only QID and TYPE (no STATUS) are read', () => {
    const { hosts, rejected } = read(page('<HOST><ID>7</ID><DETECTION_LIST><DETECTION><QID>6</QID><TYPE>Info</TYPE></DETECTION></DETECTION_LIST></HOST><HOST><ID>8</ID></HOST>'));
    expect(rejected).toEqual([]);
    expect(hosts).toEqual([
      { id: '7', detections: [{ qid: '6', type: 'Info', ssl: false }] },
      { id: '8', detections: [] },
    ]);
  });

  it('a detection without STATUS is an open finding, its evidence saying Active', () => {
    const { hosts } = read(page('<HOST><ID>7</ID><DETECTION_LIST><DETECTION><QID>6</QID><TYPE>Info</TYPE></DETECTION></DETECTION_LIST></HOST>'));
    const knowledgeBase = new Map([['6', { cves: ['CVE-2024-0001'] }]]);
    const { findings } = mapFindings('c', '7', hosts[0]?.detections ?? [], knowledgeBase, '2026-11-30T10:00:00Z');
    expect(findings.map((f) => [f.status, f.evidence[0]?.status])).toEqual([['open', 'Active']]);
  });

  it('elements and attributes the connector does not know are ignored', () => {
    const { hosts, reader } = read(
      page(
        '<HOST new="1"><ID>7</ID><FUTURE_FIELD><X a="b">1</X></FUTURE_FIELD><DETECTION_LIST><DETECTION kind="x"><QID>6</QID><TYPE>Confirmed</TYPE><STATUS>Active</STATUS>' +
          '<AFFECT_RUNNING_KERNEL>1</AFFECT_RUNNING_KERNEL><QDS_FACTORS><QDS_FACTOR name="epss">0.1</QDS_FACTOR></QDS_FACTORS></DETECTION></DETECTION_LIST></HOST>',
      ),
    );
    expect(hosts).toEqual([{ id: '7', detections: [{ qid: '6', type: 'Confirmed', status: 'Active', ssl: false }] }]);
    expect(reader.droppedValues.size).toBe(0);
  });
});

describe('a value of unexpected form', () => {
  it('is dropped and counted by field, and the record read without it', () => {
    const { hosts, rejected, reader } = read(
      page(
        '<HOST><ID>7</ID><TRURISK_SCORE>high</TRURISK_SCORE><OS><A/><B/></OS><DETECTION_LIST>' +
          '<DETECTION><QID>6</QID><TYPE>Confirmed</TYPE><PORT>ssh</PORT><SEVERITY>9</SEVERITY><SSL>yes</SSL><STATUS>New</STATUS></DETECTION>' +
          '<DETECTION><QID>7</QID><TYPE>Confirmed</TYPE><PORT>70000</PORT><STATUS>Active</STATUS></DETECTION>' +
          '</DETECTION_LIST></HOST>',
      ),
    );
    expect(rejected).toEqual([]);
    expect(hosts).toEqual([
      {
        id: '7',
        detections: [
          { qid: '6', type: 'Confirmed', ssl: false, status: 'New' },
          { qid: '7', type: 'Confirmed', ssl: false, status: 'Active' },
        ],
      },
    ]);
    expect(Object.fromEntries(reader.droppedValues)).toEqual({ 'HOST.TRURISK_SCORE': 1, 'HOST.OS': 1, 'DETECTION.PORT': 2, 'DETECTION.SEVERITY': 1, 'DETECTION.SSL': 1 });
  });
});

describe('a record that cannot be read', () => {
  const badHosts =
    '<HOST><ID>1</ID><DETECTION_LIST><DETECTION><QID>6</QID><TYPE>Info</TYPE></DETECTION></DETECTION_LIST></HOST>' +
    '<HOST><ID>2</ID><DETECTION_LIST><DETECTION><QID>abc</QID><TYPE>Info</TYPE><RESULTS>x &amp; y</RESULTS></DETECTION></DETECTION_LIST></HOST>' +
    '<HOST><DNS>no id</DNS></HOST>' +
    '<HOST><ID>4</ID><DETECTION_LIST>just text</DETECTION_LIST></HOST>' +
    '<HOST><ID>5</ID></HOST>';

  it('is rejected with its path, the reason and its XML; the others are read', () => {
    const { hosts, rejected, reader } = read(page(badHosts));
    expect(hosts.map((h) => h.id)).toEqual(['1', '5']);
    expect(reader.rejectedRecords).toBe(3);
    expect(rejected.map((r) => r.path)).toEqual([
      'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[1] (HOST ID 2)',
      'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[2]',
      'HOST_LIST_VM_DETECTION_OUTPUT.RESPONSE.HOST_LIST.HOST[3] (HOST ID 4)',
    ]);
    expect(rejected[0]?.reason).toContain('DETECTION[0].QID (HOST ID 2 › DETECTION QID abc): expected a numeric ID, got "abc"');
    expect(rejected[1]?.reason).toContain('HOST[2].ID: is missing or empty');
    expect(rejected[0]?.xml).toBe('<HOST><ID>2</ID><DETECTION_LIST><DETECTION><QID>abc</QID><TYPE>Info</TYPE><RESULTS>x &amp; y</RESULTS></DETECTION></DETECTION_LIST></HOST>');
  });

  it('keeps its XML to 64 KiB', () => {
    const { rejected } = read(page(`<HOST><ID>x</ID><DNS>${'a'.repeat(100_000)}</DNS></HOST>`), 4096);
    expect(rejected[0]?.xml.length).toBe(64 * 1024);
  });

  it('without a taker for rejects, fails the page as before (not retried)', () => {
    const e = thrownQualysError(() => readInChunks(page(badHosts), 7, hld, { reader: hostDetectionRecords, take: () => undefined }));
    expect({ kind: e.kind, retryable: e.retryable }).toEqual({ kind: 'malformed-response', retryable: false });
    expect(e.message).toContain('HOST[1].DETECTION_LIST.DETECTION[0].QID (HOST ID 2 › DETECTION QID abc)');
  });

  it('a KnowledgeBase VULN without a usable QID is rejected; one with an odd CVSS keeps its CVEs', () => {
    const vulns: KnowledgeBaseVuln[] = [];
    const rejected: RejectedRecord[] = [];
    const reader = new XmlBodyReader(kb, { reader: knowledgeBaseRecords, take: (vuln) => vulns.push(vuln), reject: (record) => rejected.push(record) });
    reader.write(
      '<KNOWLEDGE_BASE_VULN_LIST_OUTPUT><RESPONSE><VULN_LIST>' +
        '<VULN><QID>x</QID></VULN>' +
        '<VULN><QID>6</QID><SEVERITY_LEVEL>high</SEVERITY_LEVEL><CVE_LIST><CVE><ID>CVE-2024-1</ID></CVE></CVE_LIST><CVSS><BASE>n/a</BASE></CVSS></VULN>' +
        '</VULN_LIST></RESPONSE></KNOWLEDGE_BASE_VULN_LIST_OUTPUT>',
    );
    reader.end();
    expect(vulns).toEqual([{ qid: '6', cves: ['CVE-2024-1'] }]);
    expect(rejected.map((r) => r.path)).toEqual(['KNOWLEDGE_BASE_VULN_LIST_OUTPUT.RESPONSE.VULN_LIST.VULN[0] (VULN QID x)']);
    expect(Object.fromEntries(reader.droppedValues)).toEqual({ 'VULN.SEVERITY_LEVEL': 1 });
  });
});
