/**
 * What real subscriptions send that tidy output would not (realistic profile only), each on a fixed
 * share of the records chosen from their IDs, so the same record always looks the same:
 * - RESULTS written as escaped text with each carriage return as `&#13;` (a reader keeps the CR, as XML
 *   says) instead of CDATA (where CR LF reads as one line feed);
 * - detections without STATUS (only Active ones, so the finding reads the same either way) or without
 *   the optional elements the connector does not use (TIMES_FOUND, LAST_TEST_DATETIME, …);
 * - elements and attributes the connector does not know;
 * - hosts without LAST_VM_SCANNED_DURATION.
 * Windows RESULTS use CR LF, and service banners carry ESC colour codes and NUL padding (results-text.ts);
 * Host List details are declared ISO-8859-1 (host-list.ts).
 */
import type { ContentProfile } from './profile';

/** A detection as the estate or its ground truth has it (the truth's IDs are strings). */
interface DetectionIdentity {
  uniqueVulnId: number | string;
  status?: string;
}

export const resultsWrittenAsText = (d: DetectionIdentity): boolean => Number(d.uniqueVulnId) % 8 === 3;

export const statusLeftOut = (d: DetectionIdentity): boolean => d.status === 'Active' && Number(d.uniqueVulnId) % 7 === 2;

export const optionalElementsLeftOut = (d: DetectionIdentity): boolean => Number(d.uniqueVulnId) % 11 === 5;

export const unknownElementsAdded = (d: DetectionIdentity): boolean => Number(d.uniqueVulnId) % 13 === 4;

export const hostQuirky = (hostId: number | string): boolean => Number(hostId) % 9 === 4;

/** The ground-truth fields of a detection that the profile leaves out on the wire (for tests comparing the two). */
export function detectionFieldsLeftOut(d: DetectionIdentity, profile: ContentProfile): string[] {
  if (profile !== 'realistic') return [];
  return [...(statusLeftOut(d) ? ['status'] : []), ...(optionalElementsLeftOut(d) ? ['timesFound', 'lastUpdate', 'lastProcessed'] : [])];
}
