/**
 * What the realistic profile adds to a KnowledgeBase VULN, drawn from (seed, QID) on a stream of its
 * own so the QID → CVE mapping stays the one both profiles share. Shapes follow Qualys'
 * knowledge_base_vuln_list_output.dtd (a copy is quoted in a public DTD → pydantic converter found
 * through the code index; reference §5.2 lists the same from Elastic's XSD):
 *   BUGTRAQ_LIST/BUGTRAQ (ID, URL), SOFTWARE_LIST/SOFTWARE (PRODUCT, VENDOR),
 *   VENDOR_REFERENCE_LIST/VENDOR_REFERENCE (ID, URL) — the same ID/URL children as CVE_LIST/CVE,
 *   CORRELATION (EXPLOITS/EXPLT_SRC…, MALWARE/MW_SRC…), CVSS and CVSS_V3 with BASE@source and their
 *   vector elements, THREAT_INTELLIGENCE/THREAT_INTEL@id, DISCOVERY (REMOTE, AUTH_TYPE_LIST, ADDITIONAL_INFO).
 * QIDs without a CVE mostly keep vendor references (and some Bugtraq IDs): their only IDs are not CVEs.
 */
import type { KnowledgeBaseEntry } from './knowledge-base';
import { Random } from './random';

export interface KbReference {
  id: string;
  url: string;
}

export interface CvssV2Detail {
  vector: string;
  accessVector: number;
  accessComplexity: number;
  impact: [number, number, number];
  authentication: number;
  exploitability: number;
  remediationLevel: number;
  reportConfidence: number;
}

export interface CvssV3Detail {
  vector: string;
  attackVector: number;
  attackComplexity: number;
  impact: [number, number, number];
  privilegesRequired: number;
  userInteraction: number;
  scope: number;
  exploitCodeMaturity: number;
  remediationLevel: number;
  reportConfidence: number;
}

export interface ExploitSource {
  source: string;
  exploits: Array<{ ref: string; description: string; link?: string }>;
}

export interface MalwareSource {
  source: string;
  malware: Array<{ id: string; type: string; platform: string; alias?: string; rating: string; link?: string }>;
}

export interface KnowledgeBaseExtras {
  bugtraq: KbReference[];
  software: Array<{ product: string; vendor: string }>;
  vendorReferences: KbReference[];
  cvss?: CvssV2Detail;
  cvss3?: CvssV3Detail;
  exploits: ExploitSource[];
  malware: MalwareSource[];
  threatIntel: Array<{ id: number; name: string }>;
  authTypes: string[];
  additionalInfo?: string;
  pciReasons: string[];
}

const EXTRAS_STREAM = 0xe27a;

/**
 * THREAT_INTEL texts as Qualys names them (reference §5.2 quotes Exploit_Public, High_Lateral_Movement,
 * Easy_Exploit, No_Patch). Assumption: the numeric `id` attribute values.
 */
const THREAT_INTEL: ReadonlyArray<readonly [number, string]> = [
  [1, 'Zero_Day'], [2, 'Exploit_Public'], [3, 'Active_Attacks'], [4, 'High_Lateral_Movement'], [5, 'Easy_Exploit'],
  [6, 'High_Data_Loss'], [7, 'Denial_of_Service'], [8, 'No_Patch'], [9, 'Malware'], [11, 'Wormable'],
  [13, 'Privilege_Escalation'], [14, 'Unauthenticated_Exploitation'], [15, 'Remote_Code_Execution'], [16, 'Ransomware'],
  [18, 'Cisa_Known_Exploited_Vulns'],
];

const SOFTWARE_BY_CATEGORY: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>> = {
  Windows: [['windows_10', 'microsoft'], ['windows_11', 'microsoft'], ['windows_server_2019', 'microsoft'], ['office', 'microsoft'], ['.net_framework', 'microsoft']],
  Ubuntu: [['ubuntu_linux', 'canonical'], ['openssl', 'openssl'], ['glibc', 'gnu'], ['curl', 'haxx']],
  RedHat: [['enterprise_linux', 'redhat'], ['openssl', 'openssl'], ['kernel', 'linux'], ['sudo', 'sudo_project']],
  'Amazon Linux': [['amazon_linux_2', 'amazon'], ['openssl', 'openssl'], ['python3', 'python']],
  Local: [['chrome', 'google'], ['firefox', 'mozilla'], ['jre', 'oracle'], ['acrobat_reader_dc', 'adobe'], ['7-zip', '7-zip'], ['log4j', 'apache']],
  'Web server': [['http_server', 'apache'], ['nginx', 'f5'], ['tomcat', 'apache']],
  Database: [['mysql', 'oracle'], ['postgresql', 'postgresql'], ['sql_server', 'microsoft']],
  'General remote services': [['openssh', 'openbsd'], ['samba', 'samba'], ['openssl', 'openssl']],
};

const AUTH_TYPES_BY_CATEGORY: Readonly<Record<string, readonly string[]>> = {
  Windows: ['Windows'],
  Ubuntu: ['Unix'],
  RedHat: ['Unix'],
  'Amazon Linux': ['Unix'],
  Local: ['Windows', 'Unix'],
  Database: ['MS_SQL', 'MySQL', 'Oracle'],
  'Web server': ['HTTP'],
};

/** The vendor advisories Qualys lists per category: IDs read from the title when it names one. */
function vendorReferencesFor(r: Random, entry: KnowledgeBaseEntry): KbReference[] {
  const advisory = /\b(USN-\d+-\d+|RHSA-\d{4}:\d+|ALAS2-\d{4}-\d+|KB\d{7})\b/.exec(entry.title)?.[1];
  const year = entry.published.slice(0, 4);
  switch (entry.category) {
    case 'Ubuntu': {
      const id = advisory ?? `USN-${r.int(4000, 7100)}-1`;
      return [{ id, url: `https://ubuntu.com/security/notices/${id}` }];
    }
    case 'RedHat': {
      const id = advisory ?? `RHSA-${year}:${r.int(1000, 9999)}`;
      return [{ id, url: `https://access.redhat.com/errata/${id}` }];
    }
    case 'Amazon Linux': {
      const id = advisory ?? `ALAS2-${year}-${r.int(1000, 2600)}`;
      return [{ id, url: `https://alas.aws.amazon.com/AL2/${id.replace('ALAS2', 'ALAS')}.html` }];
    }
    case 'Windows': {
      const kb = advisory ?? `KB${r.int(5001000, 5039999)}`;
      const refs = [{ id: kb, url: `https://support.microsoft.com/help/${kb.slice(2)}` }];
      if (r.chance(0.3)) refs.push({ id: `MS${year.slice(2)}-0${r.int(10, 99)}`, url: 'https://learn.microsoft.com/security-updates/securitybulletins' });
      return refs;
    }
    case 'Local':
      return [r.pick([
        { id: `APSB${year.slice(2)}-${r.int(10, 60)}`, url: 'https://helpx.adobe.com/security.html' },
        { id: `mfsa${year}-${r.int(10, 60)}`, url: 'https://www.mozilla.org/security/advisories/' },
        { id: `Oracle CPU ${year}`, url: 'https://www.oracle.com/security-alerts/' },
        { id: `Chrome ${r.int(100, 130)}.0.${r.int(5000, 6999)}.${r.int(10, 200)}`, url: 'https://chromereleases.googleblog.com/' },
      ])];
    case 'Web server':
      return [{ id: `Apache httpd 2.4.${r.int(40, 62)}`, url: 'https://httpd.apache.org/security/vulnerabilities_24.html' }];
    case 'Database':
      return [{ id: `MySQL CPU ${year}`, url: 'https://www.oracle.com/security-alerts/' }];
    case 'General remote services':
      return [{ id: `OpenSSH ${r.int(7, 9)}.${r.int(0, 9)}`, url: 'https://www.openssh.com/security.html' }];
    default:
      return [];
  }
}

function cvssV2(r: Random): CvssV2Detail {
  // Qualys prints the CVSS components as numeric codes (assumption: 1 = the lowest level, ascending).
  const av = r.pick([1, 2, 3]);
  const ac = r.pick([1, 2, 3]);
  const impact: [number, number, number] = [r.int(1, 3), r.int(1, 3), r.int(1, 3)];
  const au = r.pick([1, 2, 3]);
  const e = r.int(0, 4);
  const rl = r.int(0, 4);
  const rc = r.int(0, 3);
  const letter = (value: number, letters: string): string => letters[value - 1] ?? 'X';
  const vector =
    `CVSS:2.0/AV:${letter(av, 'LAN')}/AC:${letter(ac, 'HML')}/Au:${letter(au, 'MSN')}` +
    `/C:${letter(impact[0], 'NPC')}/I:${letter(impact[1], 'NPC')}/A:${letter(impact[2], 'NPC')}` +
    `/E:${['ND', 'U', 'POC', 'F', 'H'][e]}/RL:${['ND', 'OF', 'TF', 'W', 'U'][rl]}/RC:${['ND', 'UC', 'UR', 'C'][rc]}`;
  return { vector, accessVector: av, accessComplexity: ac, impact, authentication: au, exploitability: e, remediationLevel: rl, reportConfidence: rc };
}

function cvssV3(r: Random): CvssV3Detail {
  const av = r.pick([1, 2, 3, 4, 4, 4]);
  const ac = r.pick([1, 2, 2]);
  const impact: [number, number, number] = [r.int(1, 3), r.int(1, 3), r.int(1, 3)];
  const pr = r.int(1, 3);
  const ui = r.int(1, 2);
  const s = r.int(1, 2);
  const e = r.int(0, 4);
  const rl = r.int(0, 4);
  const rc = r.int(0, 3);
  const letter = (value: number, letters: string): string => letters[value - 1] ?? 'X';
  const vector =
    `CVSS:3.1/AV:${letter(av, 'PLAN')}/AC:${letter(ac, 'HL')}/PR:${letter(pr, 'HLN')}/UI:${letter(ui, 'RN')}/S:${letter(s, 'UC')}` +
    `/C:${letter(impact[0], 'NLH')}/I:${letter(impact[1], 'NLH')}/A:${letter(impact[2], 'NLH')}` +
    `/E:${['X', 'U', 'P', 'F', 'H'][e]}/RL:${['X', 'O', 'T', 'W', 'U'][rl]}/RC:${['X', 'U', 'R', 'C'][rc]}`;
  return {
    vector, attackVector: av, attackComplexity: ac, impact, privilegesRequired: pr, userInteraction: ui, scope: s,
    exploitCodeMaturity: e, remediationLevel: rl, reportConfidence: rc,
  };
}

/** The realistic additions to `entry`. Pure: same (seed, entry) ⇒ same extras. */
export function knowledgeBaseExtras(seed: number, entry: KnowledgeBaseEntry): KnowledgeBaseExtras {
  const r = new Random(seed, EXTRAS_STREAM, entry.qid);
  const informationGathered = entry.vulnType === 'Information Gathered';
  const hasCve = entry.cves.length > 0;
  // QIDs without CVEs keep their vendor advisories: their only IDs are then vendor references.
  const vendorReferences = informationGathered ? [] : hasCve || r.chance(0.85) ? vendorReferencesFor(r, entry) : [];
  const bugtraq: KbReference[] = [];
  if (!informationGathered && r.chance(hasCve ? 0.45 : 0.35)) {
    for (let n = r.int(1, 3); n > 0; n--) {
      const id = String(r.int(10_000, 109_999));
      bugtraq.push({ id, url: `http://www.securityfocus.com/bid/${id}` });
    }
  }
  const softwareChoices = SOFTWARE_BY_CATEGORY[entry.category] ?? [];
  const software = informationGathered || softwareChoices.length === 0
    ? []
    : Array.from({ length: r.int(1, Math.min(3, softwareChoices.length)) }, (_, k) => softwareChoices[(entry.qid + k) % softwareChoices.length])
        .filter((s): s is readonly [string, string] => s !== undefined)
        .map(([product, vendor]) => ({ product, vendor }));
  const exploits: ExploitSource[] = [];
  const malware: MalwareSource[] = [];
  if (hasCve && r.chance(0.25)) {
    exploits.push({
      source: r.pick(['The Exploit-DB', 'Metasploit', 'Qualys']),
      // REF holds a CVE ID too: one more element a loose reader could mistake for the QID's CVEs.
      exploits: entry.cves.slice(0, 2).map((cve) => ({
        ref: cve,
        description: `${entry.title.slice(0, 60)} – exploit ${r.int(40_000, 51_999)}`,
        link: r.chance(0.7) ? `https://www.exploit-db.com/exploits/${r.int(40_000, 51_999)}` : undefined,
      })),
    });
  }
  if (hasCve && r.chance(0.05)) {
    malware.push({
      source: 'Trend Micro',
      malware: [{ id: `TROJ_${r.hex(6).toUpperCase()}`, type: 'Trojan', platform: 'Windows', alias: r.chance(0.5) ? 'Emotet' : undefined, rating: r.pick(['Low', 'Medium', 'High']), link: 'https://www.trendmicro.com/vinfo/' }],
    });
  }
  const threatIntel = informationGathered ? [] : THREAT_INTEL.filter(() => r.chance(0.12)).map(([id, name]) => ({ id, name }));
  return {
    bugtraq,
    software,
    vendorReferences,
    cvss: entry.cvssBase === undefined ? undefined : cvssV2(r),
    cvss3: entry.cvss3Base === undefined ? undefined : cvssV3(r),
    exploits,
    malware,
    threatIntel,
    authTypes: entry.remoteDiscovery ? [] : [...(AUTH_TYPES_BY_CATEGORY[entry.category] ?? [])],
    additionalInfo: entry.patchable ? 'Patch Available' : undefined,
    pciReasons: entry.severity >= 4 ? ['Severity level 4 or higher (“High” risk) – PCI DSS §6.3.3'] : [],
  };
}

/**
 * Typography real KB titles carry: registered marks and en dashes (multi-byte in UTF-8). Only
 * spaces-around-hyphen and vendor names change, so title-based checks (mayCarryCve) still hold.
 */
export function realisticTitle(title: string): string {
  return title
    .replace(/^Microsoft /, 'Microsoft® ')
    .replace(/^Oracle Java SE/, 'Oracle® Java™ SE')
    .replace(/ - /g, ' – ')
    .replace(/\(Log4Shell\)/, '(“Log4Shell”)');
}
