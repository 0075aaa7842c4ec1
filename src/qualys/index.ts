/** Public surface of the Qualys client. */
export {
  QualysClient,
  detectionStatuses,
  type DetectionQueryOptions,
  type DetectionStatus,
  type HostIdRange,
  type QualysCallEvent,
  type QualysCallOptions,
  type QualysClientOptions,
} from './client';
export { qualysConnectionSchema, parseQualysConnection, type QualysConnection } from './connection';
export { resolveApiBaseUrl, qualysPlatforms, isLoopbackHost, type QualysPlatform, type ResolvedApiBaseUrl } from './base-url';
export { defaultTimeouts, type HttpTimeouts } from './dispatcher';
export { qualysEndpoints, endpointInfo, type QualysEndpoint } from './endpoints';
export {
  QualysError,
  QualysConfigError,
  isQualysError,
  qualysErrorKinds,
  type QualysErrorDetails,
  type QualysErrorKind,
} from './errors';
export { readSubscriptionLimits } from './limits';
export type { RejectedRecord } from './parse-document';
export * from './schemas';
