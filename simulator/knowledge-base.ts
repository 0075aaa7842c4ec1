/**
 * The simulated KnowledgeBase: a few thousand QIDs generated from the seed, each with zero, one or
 * several CVEs. Small enough to build eagerly; hosts' detections draw their QIDs from it.
 */
import { DAY_MS, ESTATE_NOW_MS, formatQualysDateTime } from './dates';
import { type KnowledgeBaseExtras, knowledgeBaseExtras, realisticTitle } from './knowledge-base-extras';
import type { ContentProfile } from './profile';
import { Random } from './random';

export type VulnType =
  | 'Vulnerability'
  | 'Potential Vulnerability'
  | 'Vulnerability or Potential Vulnerability'
  | 'Information Gathered';

export interface KnowledgeBaseEntry {
  qid: number;
  vulnType: VulnType;
  severity: number;
  title: string;
  category: string;
  cves: string[];
  cvssBase?: number;
  cvssTemporal?: number;
  cvss3Base?: number;
  cvss3Temporal?: number;
  published: string;
  lastServiceModification: string;
  patchable: boolean;
  remoteDiscovery: boolean;
  diagnosis: string;
  consequence: string;
  solution: string;
}

/** Total QIDs in the catalogue (assumption: enough variety for CVE mapping, small enough to build eagerly). */
const CATALOGUE_SIZE = 2400;

interface CategoryPlan {
  category: string;
  /** QIDs are drawn from [from, to). Ranges are loosely modelled on real Qualys QID blocks. */
  from: number;
  to: number;
  weight: number;
  informationGathered?: boolean;
  remote: boolean;
  patchable: number;
  titles: ReadonlyArray<(r: Random) => string>;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const LINUX_PACKAGES = ['openssl', 'glibc', 'curl', 'sudo', 'openssh', 'kernel', 'bind', 'python3', 'libxml2', 'systemd', 'nss', 'expat', 'zlib', 'git', 'vim', 'krb5', 'samba', 'polkit'];
const APPS = ['Google Chrome', 'Mozilla Firefox', 'Oracle Java SE', 'Adobe Acrobat Reader', '7-Zip', 'Notepad++', 'VMware Tools', 'Zoom Client', 'Apache Tomcat', 'Node.js', 'PuTTY', 'WinRAR'];

const year = (r: Random): number => r.int(2016, 2025);

const CATEGORY_PLANS: readonly CategoryPlan[] = [
  {
    category: 'Information gathering', from: 45000, to: 45600, weight: 6, informationGathered: true, remote: true, patchable: 0,
    titles: [
      () => 'Operating System Detected',
      () => 'Host Scan Time - Scanner',
      () => 'Open TCP Services List',
      () => 'Traceroute',
      () => 'DNS Host Name',
      () => 'Firewall Detected',
      (r) => `Installed Applications Enumerated From Windows Installer (${r.int(1, 9)})`,
      () => 'Network Adapter MAC Address',
    ],
  },
  {
    category: 'General remote services', from: 38000, to: 39000, weight: 12, remote: true, patchable: 0.4,
    titles: [
      () => 'SSL Certificate - Self-Signed Certificate',
      () => 'TLS Version 1.0 Protocol Detection',
      () => 'SSH Server CBC Mode Ciphers Enabled',
      (r) => `OpenSSH Multiple Vulnerabilities (OpenSSH < ${r.int(7, 9)}.${r.int(0, 9)})`,
      () => 'SSL/TLS use of weak RC4 cipher',
      () => 'SMB Signing Disabled or SMB Signing Not Required',
    ],
  },
  {
    category: 'Windows', from: 90000, to: 92400, weight: 22, remote: false, patchable: 1,
    titles: [
      (r) => `Microsoft Windows Security Update for ${r.pick(MONTHS)} ${year(r)}`,
      (r) => `Microsoft Office Remote Code Execution Vulnerability (KB${r.int(5001000, 5039999)})`,
      (r) => `Microsoft .NET Framework & .NET Core Security Update (KB${r.int(5001000, 5039999)})`,
      (r) => `Microsoft Exchange Server Remote Code Execution Vulnerability (${year(r)})`,
    ],
  },
  {
    category: 'Ubuntu', from: 198000, to: 200000, weight: 14, remote: false, patchable: 1,
    titles: [(r) => `Ubuntu Security Notification for ${r.pick(LINUX_PACKAGES)} Vulnerabilities (USN-${r.int(4000, 7100)}-1)`],
  },
  {
    category: 'RedHat', from: 239000, to: 242000, weight: 12, remote: false, patchable: 1,
    titles: [(r) => `Red Hat Update for ${r.pick(LINUX_PACKAGES)} (RHSA-${year(r)}:${r.int(1000, 9999)})`],
  },
  {
    category: 'Amazon Linux', from: 350000, to: 353000, weight: 8, remote: false, patchable: 1,
    titles: [(r) => `Amazon Linux Security Advisory for ${r.pick(LINUX_PACKAGES)}: ALAS2-${year(r)}-${r.int(1000, 2600)}`],
  },
  {
    category: 'Local', from: 376000, to: 380500, weight: 16, remote: false, patchable: 0.85,
    titles: [
      (r) => `${r.pick(APPS)} Prior to ${r.int(2, 130)}.${r.int(0, 9)} Multiple Vulnerabilities`,
      (r) => `Oracle Java SE Critical Patch Update - ${r.pick(MONTHS)} ${year(r)}`,
      () => 'Apache Log4j Remote Code Execution (RCE) Vulnerability (Log4Shell)',
      (r) => `${r.pick(APPS)} End of Life (EOL) Software Detected`,
    ],
  },
  {
    category: 'Web server', from: 86000, to: 87600, weight: 6, remote: true, patchable: 0.6,
    titles: [
      (r) => `Apache HTTP Server Prior to 2.4.${r.int(40, 62)} Multiple Vulnerabilities`,
      () => 'Web Server HTTP Trace/Track Method Support Cross-Site Tracing Vulnerability',
      (r) => `nginx < 1.${r.int(18, 25)}.${r.int(0, 9)} Request Smuggling Vulnerability`,
    ],
  },
  {
    category: 'Database', from: 19000, to: 20400, weight: 4, remote: true, patchable: 0.9,
    titles: [
      (r) => `MySQL Server Critical Patch Update - ${r.pick(MONTHS)} ${year(r)}`,
      (r) => `PostgreSQL Multiple Security Vulnerabilities (${r.int(10, 16)}.${r.int(0, 12)})`,
      (r) => `Microsoft SQL Server Security Update (KB${r.int(5001000, 5039999)})`,
    ],
  },
];

/** CVE IDs are never from after the QID was published. */
function cveId(r: Random, latestYear: number): string {
  return `CVE-${r.int(Math.min(2014, latestYear), latestYear)}-${r.int(1000, 49999)}`;
}

/** Titles of checks that are configuration findings and never carry a CVE, as in the real KB. */
const NO_CVE_TITLES = /Self-Signed|TLS Version 1\.0|CBC Mode|weak RC4|SMB Signing|Trace\/Track|End of Life/;

/** Whether Qualys could map the QID to a CVE: information gathered and configuration checks never are. */
export function mayCarryCve(entry: Pick<KnowledgeBaseEntry, 'vulnType' | 'title'>): boolean {
  return entry.vulnType !== 'Information Gathered' && !NO_CVE_TITLES.test(entry.title);
}

function cvssScore(r: Random, severity: number): number {
  // Loosely tie the score to the QID severity; one decimal, as Qualys prints them.
  const base = Math.min(10, Math.max(0.1, severity * 2 - 1 + r.next() * 2.2));
  return Math.round(base * 10) / 10;
}

function generateEntry(r: Random, plan: CategoryPlan, qid: number): KnowledgeBaseEntry {
  const ig = plan.informationGathered === true;
  const vulnType: VulnType = ig
    ? 'Information Gathered'
    : r.weighted<VulnType>([
        ['Vulnerability', 70],
        ['Potential Vulnerability', 15],
        ['Vulnerability or Potential Vulnerability', 15],
      ]);
  const severity = ig ? r.int(1, 3) : r.weighted([[1, 5], [2, 15], [3, 35], [4, 30], [5, 15]] as const);
  const title = r.pick(plan.titles)(r);
  const publishedMs = ESTATE_NOW_MS - r.int(20, 3300) * DAY_MS - r.int(0, 86_399) * 1000;
  // Information-gathered QIDs and configuration checks never map to a CVE; some other QIDs have none either.
  const cveCount = ig || NO_CVE_TITLES.test(title) ? 0 : r.weighted([[0, 15], [1, 55], [2, 12], [3, 8], [4, 5], [6, 5]] as const);
  const cves: string[] = [];
  const latestYear = new Date(publishedMs).getUTCFullYear();
  while (cves.length < cveCount) {
    const id = cveId(r, latestYear);
    if (!cves.includes(id)) cves.push(id);
  }
  const modifiedMs = Math.min(ESTATE_NOW_MS - DAY_MS, publishedMs + r.int(0, 900) * DAY_MS + r.int(0, 86_399) * 1000);
  const entry: KnowledgeBaseEntry = {
    qid,
    vulnType,
    severity,
    title,
    category: plan.category,
    cves,
    published: formatQualysDateTime(publishedMs),
    lastServiceModification: formatQualysDateTime(modifiedMs),
    patchable: r.chance(plan.patchable),
    remoteDiscovery: plan.remote,
    diagnosis: `<P>The host is affected by <B>${title}</B>.`,
    consequence: ig ? 'N/A' : '<P>Successful exploitation could allow an attacker to compromise the host.',
    solution: ig ? 'N/A' : '<P>Apply the vendor update. Refer to the vendor advisory for details &amp; workarounds.',
  };
  if (!ig && cves.length > 0 && r.chance(0.7)) {
    entry.cvssBase = cvssScore(r, severity);
    entry.cvssTemporal = Math.round(entry.cvssBase * (0.75 + r.next() * 0.2) * 10) / 10;
  }
  if (!ig && r.chance(0.6)) {
    entry.cvss3Base = cvssScore(r, severity);
    entry.cvss3Temporal = Math.round(entry.cvss3Base * (0.85 + r.next() * 0.12) * 10) / 10;
  }
  return entry;
}

export class KnowledgeBase {
  /** Sorted by QID. */
  readonly entries: readonly KnowledgeBaseEntry[];
  /** QIDs a host can be detected with (everything except Information Gathered), sorted. */
  readonly detectableQids: readonly number[];
  /** The detectable QIDs in a seed-dependent "popularity" order: detections favour the front. */
  readonly popularQids: readonly number[];
  private readonly byQid: Map<number, KnowledgeBaseEntry>;
  /** Realistic profile only: the lists and details each VULN carries beyond the CVE mapping. */
  private readonly extrasByQid?: Map<number, KnowledgeBaseExtras>;

  constructor(seed: number, profile: ContentProfile = 'minimal') {
    const r = new Random(seed, 0x4b42);
    const totalWeight = CATEGORY_PLANS.reduce((sum, p) => sum + p.weight, 0);
    const byQid = new Map<number, KnowledgeBaseEntry>();
    for (const plan of CATEGORY_PLANS) {
      const wanted = Math.round((CATALOGUE_SIZE * plan.weight) / totalWeight);
      const span = plan.to - plan.from;
      let added = 0;
      // Bounded attempts: ranges are much larger than the counts wanted, so collisions are rare.
      for (let attempt = 0; added < wanted && attempt < wanted * 20; attempt++) {
        const qid = plan.from + r.int(0, span - 1);
        if (byQid.has(qid)) continue;
        byQid.set(qid, generateEntry(r, plan, qid));
        added++;
      }
    }
    this.byQid = byQid;
    this.entries = [...byQid.values()].sort((a, b) => a.qid - b.qid);
    this.detectableQids = this.entries.filter((e) => e.vulnType !== 'Information Gathered').map((e) => e.qid);
    const popular = [...this.detectableQids];
    for (let i = popular.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [popular[i], popular[j]] = [popular[j] as number, popular[i] as number];
    }
    this.popularQids = popular;
    if (profile === 'realistic') {
      this.extrasByQid = new Map();
      for (const entry of this.entries) {
        entry.title = realisticTitle(entry.title);
        entry.diagnosis = `${entry.diagnosis}<P>Détails : la vulnérabilité « ${entry.title} » concerne l’hôte.`;
        this.extrasByQid.set(entry.qid, knowledgeBaseExtras(seed, entry));
      }
    }
  }

  /** The realistic profile's extra lists for a QID; undefined in the minimal profile. */
  extras(qid: number): KnowledgeBaseExtras | undefined {
    return this.extrasByQid?.get(qid);
  }

  get(qid: number): KnowledgeBaseEntry | undefined {
    return this.byQid.get(qid);
  }

  /**
   * A later generation maps a QID to one more CVE. Qualys then moves LAST_SERVICE_MODIFICATION to
   * when it did so, so that `last_modified_after` finds the entry: `modifiedMs` is that time.
   */
  addCve(qid: number, cve: string, modifiedMs: number): void {
    const entry = this.byQid.get(qid);
    if (entry === undefined) throw new Error(`QID ${qid} is not in the KnowledgeBase`);
    if (!entry.cves.includes(cve)) entry.cves.push(cve);
    entry.lastServiceModification = formatQualysDateTime(modifiedMs);
  }
}
