import type { Asset, Finding } from './exposure';
import { assetToOcsf, FINDING_ACTIVITY, findingToOcsf, type OcsfDeviceInventoryInfo, type OcsfVulnerabilityFinding } from './ocsf';

/** What a change-feed line says about the change (the record is passed parsed). */
export interface ChangeRef {
  runKey: string;
  committedAt: string;
  change: string;
}

/**
 * A finding's change as a Vulnerability Finding activity: first reported open → Create; open again,
 * or new evidence → Update; fixed by Qualys, no longer reported, closed with its asset or deleted with
 * it → Close.
 */
export function changeActivity(change: string): (typeof FINDING_ACTIVITY)[keyof typeof FINDING_ACTIVITY] {
  if (change === 'opened') return FINDING_ACTIVITY.create;
  if (change === 'reopened' || change === 'updated') return FINDING_ACTIVITY.update;
  return FINDING_ACTIVITY.close;
}

/** An asset's change as a Device Inventory Info event, the change and its run under `unmapped.qualys`. */
export function assetChangeToOcsf(ref: ChangeRef, asset: Asset): OcsfDeviceInventoryInfo {
  const event = assetToOcsf(asset);
  return {
    ...event,
    status_detail: `${ref.change}: ${event.status_detail ?? asset.status}`,
    unmapped: { qualys: { ...event.unmapped.qualys, change: ref.change, runKey: ref.runKey, committedAt: ref.committedAt } },
  };
}

/** A finding's change as a Vulnerability Finding event whose activity is the change's (see changeActivity). */
export function findingChangeToOcsf(ref: ChangeRef, finding: Finding, asset: Asset): OcsfVulnerabilityFinding {
  const event = findingToOcsf(finding, asset, changeActivity(ref.change));
  return { ...event, unmapped: { qualys: { ...event.unmapped.qualys, change: ref.change, runKey: ref.runKey, committedAt: ref.committedAt } } };
}
