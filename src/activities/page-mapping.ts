import type { Asset, Finding } from '../model/exposure';
import { mapAsset, mapFindings, type DetectionRecord, type HostAssetRecord, type HostRecord, type QidCves } from '../model/map-qualys';
import type { StagedPageMapping } from '../store/staged-pages';

/** A staged Host List Detection host: the host's fields and its detections. */
export type StagedDetectionHost = HostRecord & { detections: DetectionRecord[] };

export interface PageCounts {
  assets: number;
  findings: number;
  detections: number;
  droppedNoCve: number;
  droppedUnknownQid: number;
  /** Hosts Host List Detection returned that the page's Host List answer (the host ID set) does not hold. */
  hostsOutsideIdSet: number;
}

/**
 * How one staged page becomes assets and findings, fed its detection hosts batch by batch (see
 * `uploadStagedPage`), counting as it goes. Assets are Host List's hosts with their Asset Management
 * interfaces. The estate is the host ID set (Host List): a host only Host List Detection returns (scoped
 * differently) is outside it — neither an asset nor findings, counted — in full and incremental runs
 * alike (an incremental run asks for hosts by ID, so it never sees such a host).
 */
export function pageMapping(
  connection: string,
  seenAt: string,
  hosts: readonly HostRecord[],
  hostAssets: readonly HostAssetRecord[],
  knowledgeBase: ReadonlyMap<string, QidCves>,
): StagedPageMapping<StagedDetectionHost> & { counts(): PageCounts } {
  const assetOf = new Map(hostAssets.map((a) => [a.qwebHostId, a]));
  const assetHosts = new Map(hosts.map((h) => [h.id, h]));
  const qidsOf = new Map<string, string[]>();
  const counts: PageCounts = { assets: 0, findings: 0, detections: 0, droppedNoCve: 0, droppedUnknownQid: 0, hostsOutsideIdSet: 0 };
  return {
    findings(batch: readonly StagedDetectionHost[]): Finding[] {
      const findings: Finding[] = [];
      for (const host of batch) {
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
      const assets = [...assetHosts.values()].map((h) => ({ asset: mapAsset(connection, h, assetOf.get(h.id), seenAt), qids: qidsOf.get(h.id) ?? [] }));
      counts.assets = assets.length;
      return assets;
    },
    counts: () => ({ ...counts }),
  };
}
