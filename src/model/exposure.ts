import { z } from 'zod';

/**
 * The exposure data model. Versioned: a change that breaks readers bumps MODEL_VERSION.
 * Every record carries a deterministic key so that re-running or retrying an upload is an upsert.
 */
export const MODEL_VERSION = '1.1.0';

const isoDateTime = z.string().describe('ISO 8601 UTC date-time, as Qualys reports it');

export const networkInterfaceSchema = z.object({
  name: z.string().optional(),
  macAddress: z.string().optional().describe('normalised to lower-case colon form'),
  address: z.string().optional(),
  gatewayAddress: z.string().optional(),
});

export const assetSchema = z.object({
  modelVersion: z.literal(MODEL_VERSION),
  key: z.string().describe('qualys:<connection>:host:<Qualys host ID>'),
  connection: z.string(),
  source: z.literal('qualys'),
  qualysHostId: z.string(),
  qualysAssetId: z.string().optional(),
  fqdn: z.string().optional(),
  hostname: z.string().optional(),
  netbiosName: z.string().optional(),
  ipv4Addresses: z.array(z.string()),
  ipv6Addresses: z.array(z.string()),
  networkInterfaces: z.array(networkInterfaceSchema),
  macAddresses: z.array(z.string()),
  gatewayAddresses: z.array(z.string()),
  operatingSystem: z.string().optional(),
  criticality: z.object({
    assetCriticalityScore: z.number().int().min(1).max(5).optional().describe('Qualys ACS, 1–5'),
    truRiskScore: z.number().int().min(0).max(1000).optional().describe('Qualys TruRisk, 0–1000'),
  }),
  trackingMethod: z.string().optional(),
  lastScans: z.object({ vulnerability: isoDateTime.optional(), vmScanned: isoDateTime.optional() }),
  status: z
    .enum(['active', 'removed'])
    .describe('active: seen in the last complete run; removed: absent from a complete run (kept for a retention, then deleted)'),
  removedAt: isoDateTime.optional().describe('when a complete run first missed the asset (status removed)'),
  firstSeenAt: isoDateTime.describe('when this connector first saw the asset'),
  lastSeenAt: isoDateTime.describe('when this connector last saw the asset'),
});

export const findingEvidenceSchema = z.object({
  qid: z.string(),
  uniqueVulnId: z.string().optional(),
  type: z.string().optional(),
  status: z.string().describe('Qualys detection status: New, Active, Re-Opened or Fixed'),
  severity: z.number().int().min(1).max(5).optional(),
  qds: z.number().int().optional(),
  port: z.string().optional(),
  protocol: z.string().optional(),
  ssl: z.boolean(),
  firstFound: isoDateTime.optional(),
  lastFound: isoDateTime.optional(),
  lastFixed: isoDateTime.optional(),
});

export const findingSchema = z.object({
  modelVersion: z.literal(MODEL_VERSION),
  key: z.string().describe('<asset key>:cve:<CVE ID>'),
  assetKey: z.string(),
  connection: z.string(),
  qualysHostId: z.string(),
  cve: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
  status: z.enum(['open', 'fixed']).describe('open while any evidence is New, Active or Re-Opened; never contradicts the evidence'),
  closedReason: z
    .enum(['qualys-fixed', 'no-longer-reported', 'asset-removed'])
    .optional()
    .describe(
      'why a fixed finding is closed: qualys-fixed (all evidence Fixed), no-longer-reported (the asset is present but Qualys no longer reports the CVE on it), asset-removed (its asset is removed)',
    ),
  closedAt: isoDateTime.optional().describe('when the connector saw the finding close'),
  reopenedAt: isoDateTime.optional().describe('when a closed finding was seen open again'),
  firstFound: isoDateTime.optional(),
  lastFound: isoDateTime.optional(),
  severity: z.number().int().min(1).max(5).optional().describe('strongest Qualys severity among the evidence'),
  qds: z.number().int().optional().describe('strongest Qualys Detection Score among the evidence'),
  evidence: z
    .array(findingEvidenceSchema)
    .describe('the detections behind the finding as Qualys reports them now; empty once Qualys stopped reporting it (no-longer-reported, asset-removed)'),
  lastReportedEvidence: z
    .array(findingEvidenceSchema)
    .optional()
    .describe('for a finding Qualys stopped reporting: its evidence as Qualys last reported it'),
  firstSeenAt: isoDateTime.optional().describe('when this connector first saw the finding (set by the store)'),
  lastSeenAt: isoDateTime.describe('when this connector last saw Qualys report the finding'),
});

export type Asset = z.infer<typeof assetSchema>;
export type Finding = z.infer<typeof findingSchema>;
export type FindingEvidence = z.infer<typeof findingEvidenceSchema>;
export type NetworkInterface = z.infer<typeof networkInterfaceSchema>;

export function assetKey(connection: string, hostId: string): string {
  return `qualys:${connection}:host:${hostId}`;
}

export function findingKey(assetKeyValue: string, cve: string): string {
  return `${assetKeyValue}:cve:${cve}`;
}
