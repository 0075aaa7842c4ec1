/** What an endpoint handler needs to answer one request. */
import type { Estate } from './estate';
import type { Params } from './params';
import type { XmlWriter } from './xml';

export interface ApiV2Context {
  estate: Estate;
  /** Scheme + host the client used (from the Host header), for DTD and WARNING URLs. */
  baseUrl: string;
  params: Params;
  /** Page size when the request gives no truncation_limit. */
  defaultTruncationLimit: number;
}

/** Banner Qualys puts before the root element of report-like responses (reference §3.4). */
export const CONFIDENTIALITY_BANNER =
  'CONFIDENTIAL AND PROPRIETARY INFORMATION. Qualys provides the QualysGuard Service "As Is," without any warranty of any kind. ' +
  'Qualys makes no warranty that the information contained in this report is complete or error-free. Copyright 2025, Qualys, Inc.';

/**
 * Real report-like responses also end with comments after the closing root element: the banner again
 * and a keep-alive for the root (reference §3.4; issue 11 quotes recorded responses). A parser must
 * accept content after the root that is only comments.
 */
export function writeTrailingComments(xml: XmlWriter, root: string): void {
  xml.comment(CONFIDENTIALITY_BANNER);
  xml.comment(`keep-alive for ${root}`);
}
