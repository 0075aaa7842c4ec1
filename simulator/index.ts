/**
 * Qualys API simulator — public API.
 *
 * Serves Host List, Host List Detection, KnowledgeBase (API v2) and QPS HostAsset search/count with the
 * real wire formats, real rate/concurrency limits and switchable faults, over a deterministic estate.
 */
export { startSimulator } from './server';
export { Estate, generateEstate, type EstateOptions } from './estate';
export { advanceEstate, DEFAULT_ADVANCE_OPTIONS } from './generations';
export { DEMO_PASSWORD, DEMO_USERNAME } from './auth';
export type { FaultPlan } from './faults';
export { ENDPOINTS, API_V2_ENDPOINTS } from './types';
export { CONTENT_PROFILES, type ContentProfile, DEFAULT_PROFILE, PROFILE_ENV_VAR, resolveProfile } from './profile';
export type {
  AdvanceOptions,
  AdvanceSummary,
  DetectionStatus,
  Endpoint,
  GroundTruth,
  RequestLogEntry,
  RunningSimulator,
  SimulatedUser,
  SimulatorOptions,
  SimulatorStats,
  TruthDetection,
  TruthHost,
  TruthInterface,
  TruthKnowledgeBaseEntry,
} from './types';
