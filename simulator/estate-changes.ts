/**
 * What the generations after 0 changed, and nothing more: host indexes that are gone, hosts added
 * (their times moved to the estate-now of the generation that added them), and per changed host its
 * new scan time and the detection events of those scans. Hosts and detections are still generated
 * from (seed, index) and these deltas are applied on top, so memory grows with the changes made,
 * never with the size of the estate.
 */
import { compareDetections, type EstateDetection } from './detections';
import type { EstateHost } from './hosts';

/**
 * `atMs` is the scan (estate time); `recordedMs` is when Qualys processed it and updated the record:
 * the wall clock of the `advance`, so that filters a connector sends with its own wall-clock
 * watermark (`detection_updated_since`, `detection_processed_after`) find exactly what changed since.
 */
export type DetectionEvent =
  /** An open detection was not found by the scan at `atMs`: Fixed. */
  | { kind: 'fixed'; uniqueVulnId: number; atMs: number; recordedMs: number }
  /** A Fixed detection was found again by the scan at `atMs`: Re-Opened. */
  | { kind: 'reopened'; uniqueVulnId: number; atMs: number; recordedMs: number }
  /** A QID the host did not have was found (status New); its update and processing times are the wall clock. */
  | { kind: 'found'; detection: EstateDetection };

interface HostChanges {
  /** Added hosts: how far their generated times move (the adding generation's estate-now − generation 0's). */
  shiftMs?: number;
  /** Changed hosts: the scan their generated detections are relative to (the last scan before any change). */
  generatedScanMs?: number;
  /** Changed hosts: the scan of the latest generation that changed them. */
  lastVmScanMs?: number;
  /** Wall clock (epoch ms) of the `advance` call that last added or changed the host. */
  processedAtMs?: number;
  /** Added hosts: wall clock of the `advance` that added them, when all their detections were first processed. */
  addedAtMs?: number;
  events: DetectionEvent[];
}

export class EstateChanges {
  /** 0 until the first `advance`. */
  generation = 0;
  private readonly absent = new Set<number>();
  private readonly hosts = new Map<number, HostChanges>();

  get absentCount(): number {
    return this.absent.size;
  }

  isAbsent(index: number): boolean {
    return this.absent.has(index);
  }

  /** Removes a host for good (or withholds an allocated index that never became a host). */
  markAbsent(index: number): void {
    this.absent.add(index);
    this.hosts.delete(index);
  }

  markAdded(index: number, shiftMs: number, processedAtMs: number): void {
    const changes = this.changesOf(index);
    changes.shiftMs = shiftMs;
    changes.processedAtMs = processedAtMs;
    changes.addedAtMs = processedAtMs;
  }

  /** A later scan of a host; `host` is the host as served before it. */
  recordScan(host: EstateHost, scanMs: number, processedAtMs: number, events: readonly DetectionEvent[]): void {
    const changes = this.changesOf(host.index);
    changes.generatedScanMs ??= host.lastVmScanMs;
    changes.lastVmScanMs = scanMs;
    changes.processedAtMs = processedAtMs;
    changes.events.push(...events);
  }

  processedAtMs(index: number): number | undefined {
    return this.hosts.get(index)?.processedAtMs;
  }

  /** The generated host as the current generation serves it (changes it in place). */
  applyToHost(host: EstateHost): EstateHost {
    const changes = this.hosts.get(host.index);
    if (changes === undefined) return host;
    if (changes.shiftMs !== undefined) {
      host.createdMs += changes.shiftMs;
      if (host.lastVmScanMs !== undefined) host.lastVmScanMs += changes.shiftMs;
    }
    if (changes.lastVmScanMs !== undefined) host.lastVmScanMs = changes.lastVmScanMs;
    return host;
  }

  /** The scan a served host's generated detections are relative to. */
  generatedScanMs(host: EstateHost): number | undefined {
    const changes = this.hosts.get(host.index);
    return changes?.lastVmScanMs === undefined ? host.lastVmScanMs : changes.generatedScanMs;
  }

  /** Replays the host's detection events on its generated detections (changes them in place). */
  applyToDetections(index: number, detections: EstateDetection[]): EstateDetection[] {
    const changes = this.hosts.get(index);
    const addedAtMs = changes?.addedAtMs;
    if (addedAtMs !== undefined) {
      // A host new in this generation: Qualys processed all of its detections when it appeared.
      for (const d of detections) {
        d.lastUpdateMs = addedAtMs;
        d.lastProcessedMs = addedAtMs;
      }
    }
    const events = changes?.events;
    if (events === undefined || events.length === 0) return detections;
    const byId = new Map(detections.map((d) => [d.uniqueVulnId, d]));
    let added = false;
    for (const event of events) {
      if (event.kind === 'found') {
        // A copy: later events change the detection, never the stored record.
        const detection = { ...event.detection };
        detections.push(detection);
        byId.set(detection.uniqueVulnId, detection);
        added = true;
        continue;
      }
      const d = byId.get(event.uniqueVulnId);
      if (d === undefined) continue;
      d.lastTestMs = event.atMs;
      d.lastUpdateMs = event.recordedMs;
      d.lastProcessedMs = event.recordedMs;
      if (event.kind === 'fixed') {
        d.status = 'Fixed';
        d.lastFixedMs = event.atMs;
      } else {
        d.status = 'Re-Opened';
        d.lastFoundMs = event.atMs;
        d.timesFound += 1;
        d.firstReopenedMs ??= event.atMs;
        d.lastReopenedMs = event.atMs;
        d.timesReopened = (d.timesReopened ?? 0) + 1;
      }
    }
    if (added) detections.sort(compareDetections);
    return detections;
  }

  private changesOf(index: number): HostChanges {
    let changes = this.hosts.get(index);
    if (changes === undefined) {
      changes = { events: [] };
      this.hosts.set(index, changes);
    }
    return changes;
  }
}
