import type { Asset, Finding } from '../model/exposure';
import { mapAsset, mapFindings, type QidCves } from '../model/map-qualys';
import { hostDetectionsSchema, type HostAsset, type HostDetections, type QualysHost } from '../qualys/schemas';
import type { StagedPageMapping } from '../store/staged-pages';
import type { AnswerPart } from '../store/types';

export interface PageCounts {
  assets: number;
  findings: number;
  detections: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Hosts Host List Detection returned that the page's Host List answer (the host ID set) does not hold. */
  hostsOutsideIdSet: number;
  /** Hosts whose asset and findings the page left as they were, because a record about them could not be read. */
  hostsKept: number;
}

/**
 * The page's records that could not be read, as far as they name hosts: the hosts they name, and the
 * answers (APIs) that held one naming none.
 */
export interface UnreadHosts {
  ids: ReadonlySet<string>;
  unnamedIn: ReadonlySet<AnswerPart>;
}

const NONE_UNREAD: UnreadHosts = { ids: new Set(), unnamedIn: new Set() };

/**
 * How one staged page becomes assets and findings, fed its detection hosts batch by batch (see
 * `uploadStagedPage`), counting as it goes. Assets are Host List's hosts with their Asset Management
 * interfaces. The estate is the host ID set (Host List): a host only Host List Detection returns (scoped
 * differently) is outside it — neither an asset nor findings, counted — in full and incremental runs
 * alike (an incremental run asks for hosts by ID, so it never sees such a host).
 *
 * A host a record could not be read about (`unread`) keeps its asset and findings as the store holds
 * them: the page maps neither, so nothing of it is changed, closed or marked no longer reported because
 * it could not be read. A record naming no host could be about any host its answer left out, so each of
 * those is kept: for Host List Detection, the page's hosts without detections in the answer; for Asset
 * Management, the page's hosts without a host asset. (A host Host List left out is no asset of the page
 * anyway.)
 */
export function pageMapping(
  connection: string,
  seenAt: string,
  hosts: readonly QualysHost[],
  hostAssets: readonly HostAsset[],
  knowledgeBase: ReadonlyMap<string, QidCves>,
  unread: UnreadHosts = NONE_UNREAD,
): StagedPageMapping<HostDetections> & { counts(): PageCounts } {
  const assetOf = new Map(hostAssets.map((a) => [a.qwebHostId, a]));
  const assetHosts = new Map(hosts.map((h) => [h.id, h]));
  const kept = new Set(unread.ids);
  if (unread.unnamedIn.has('hostAssets')) for (const h of hosts) if (!assetOf.has(h.id)) kept.add(h.id);
  const qidsOf = new Map<string, string[]>();
  const counts: PageCounts = { assets: 0, findings: 0, detections: 0, droppedNoCve: 0, droppedUnknownQid: 0, hostsOutsideIdSet: 0, hostsKept: 0 };
  return {
    hostSchema: hostDetectionsSchema,
    findings(batch: readonly HostDetections[]): Finding[] {
      const findings: Finding[] = [];
      for (const host of batch) {
        if (kept.has(host.id)) continue;
        if (!assetHosts.has(host.id)) {
          counts.hostsOutsideIdSet += 1;
          continue;
        }
        qidsOf.set(host.id, [...new Set(host.detections.map((d) => d.qid))]);
        const mapped = mapFindings(connection, host.id, host.detections, knowledgeBase, seenAt);
        for (const finding of mapped.findings) findings.push(finding);
        counts.detections += host.detections.length;
        counts.droppedNoCve += mapped.droppedNoCve;
        counts.droppedUnknownQid += mapped.droppedUnknownQid;
      }
      counts.findings += findings.length;
      return findings;
    },
    assets(): Array<{ asset: Asset; qids: string[] }> {
      // Only now is it known which hosts had no detections in the answer.
      if (unread.unnamedIn.has('detections')) for (const id of assetHosts.keys()) if (!qidsOf.has(id)) kept.add(id);
      const mapped = [...assetHosts.values()].filter((h) => !kept.has(h.id));
      const assets = mapped.map((h) => ({ asset: mapAsset(connection, h, assetOf.get(h.id), seenAt), qids: qidsOf.get(h.id) ?? [] }));
      counts.assets = assets.length;
      counts.hostsKept = kept.size;
      return assets;
    },
    counts: () => ({ ...counts }),
  };
}
