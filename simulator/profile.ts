/**
 * Content profiles. Both serve the same estate (host IDs, detections, statuses, QID → CVE mapping) and
 * the same protocol (limits, errors, paging, filters); they differ in what the records carry.
 *
 * - `realistic` (the default): content shaped like a real subscription's — UTF-8 text (accents, CJK,
 *   emoji), RESULTS from bytes to ~1 MB, KnowledgeBase VULNs with every list Qualys sends, rich
 *   `hostasset` records per kind of asset (agent, scanner, EC2/Azure/GCP with the MAC only in
 *   `sourceInfo`), bodies compressed when the request asks for it.
 * - `minimal`: short ASCII records and identity bodies, for tests that need speed.
 *
 * `QUALYS_SIM_PROFILE` sets the default for every simulator started without an explicit `profile`
 * (tests, demo, benchmarks), so a whole suite can be run on either profile.
 */
export const CONTENT_PROFILES = ['realistic', 'minimal'] as const;
export type ContentProfile = (typeof CONTENT_PROFILES)[number];

export const PROFILE_ENV_VAR = 'QUALYS_SIM_PROFILE';
export const DEFAULT_PROFILE: ContentProfile = 'realistic';

export function parseProfile(value: string, source: string): ContentProfile {
  const profile = CONTENT_PROFILES.find((candidate) => candidate === value.trim());
  if (profile === undefined) throw new Error(`${source} must be one of ${CONTENT_PROFILES.join(', ')}, got "${value}"`);
  return profile;
}

/** The explicit profile, else `QUALYS_SIM_PROFILE`, else realistic. */
export function resolveProfile(explicit: ContentProfile | undefined, env: NodeJS.ProcessEnv = process.env): ContentProfile {
  if (explicit !== undefined) return parseProfile(explicit, 'profile');
  const fromEnv = env[PROFILE_ENV_VAR];
  return fromEnv === undefined || fromEnv.trim() === '' ? DEFAULT_PROFILE : parseProfile(fromEnv, PROFILE_ENV_VAR);
}
