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
}

/**
 * How one staged page becomes assets and findings, fed its detection hosts batch by batch (see
 * `uploadStagedPage`), counting as it goes. Assets are Host List's hosts with their Asset Management
 * interfaces; a host seen only by Host List Detection (scoped differently) is still an asset.
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
  const counts: PageCounts = { assets: 0, findings: 0, detections: 0, droppedNoCve: 0, droppedUnknownQid: 0 };
  return {
    findings(batch: readonly StagedDetectionHost[]): Finding[] {
      const findings: Finding[] = [];
      for (const host of batch) {
        if (!assetHosts.has(host.id)) {
          const { detections: _detections, ...fields } = host;
          assetHosts.set(host.id, fields);
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
