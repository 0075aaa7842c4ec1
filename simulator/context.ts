/** What an endpoint handler needs to answer one request. */
import type { Estate } from './estate';
import type { Params } from './params';

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
