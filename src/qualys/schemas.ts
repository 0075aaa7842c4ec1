import { z } from 'zod';
import { fieldsOf } from './fields';

/**
 * The typed records the Qualys client returns, and the one type of each record: the mapping to the
 * exposure model reads these types as they are. They are plain JSON (strings, numbers, booleans,
 * arrays), so pages are staged in the store as they are and read back through these same schemas.
 * Dates are kept exactly as Qualys sends them (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
 */

/** Qualys numeric identifiers stay strings: no precision or leading-zero surprises. */
export const qualysIdSchema = z.string().regex(/^\d+$/, 'expected a numeric ID');

const optionalString = z.string().optional();

export const dnsDataSchema = z.object(fieldsOf(optionalString, 'hostname', 'domain', 'fqdn'));
export type DnsData = z.infer<typeof dnsDataSchema>;

/** A host as Host List (details=All, show_trurisk=1, show_asset_id=1) or Host List Detection describes it. */
export const qualysHostSchema = z.object({
  /** Qualys host ID (Host List `ID`, QPS `qwebHostId`). */
  id: qualysIdSchema,
  assetId: qualysIdSchema.optional(),
  ...fieldsOf(optionalString, 'ip', 'ipv6', 'trackingMethod', 'networkId', 'dns'),
  dnsData: dnsDataSchema.optional(),
  ...fieldsOf(optionalString, 'netbios', 'os'),
  /** Agent UUID for agent-tracked hosts. */
  qgHostId: optionalString,
  /** Asset Criticality Score, 1 (low) – 5 (critical). Host List only. */
  assetCriticalityScore: z.number().int().min(1).max(5).optional(),
  /** TruRisk score, 0 – 1000. Host List only. */
  truriskScore: z.number().int().min(0).max(1000).optional(),
  ...fieldsOf(optionalString, 'lastScan', 'lastVulnScan', 'lastVmScannedDate', 'lastVmAuthScannedDate'),
  ...fieldsOf(optionalString, 'cloudProvider', 'cloudService', 'cloudResourceId', 'ec2InstanceId'),
});
export type QualysHost = z.infer<typeof qualysHostSchema>;

/** One Host List Detection record: a QID found on a host (on a port/protocol/SSL/FQDN instance). */
export const detectionSchema = z.object({
  uniqueVulnId: qualysIdSchema.optional(),
  qid: qualysIdSchema,
  /** Confirmed | Potential | Info */
  type: z.string(),
  severity: z.number().int().min(1).max(5).optional(),
  /** Kept as text like the other identifying fields (detections are keyed on QID + port + protocol + SSL). */
  port: z.string().regex(/^\d{1,5}$/, 'expected a port number').optional(),
  protocol: optionalString,
  fqdn: optionalString,
  ssl: z.boolean(),
  instance: optionalString,
  /** New | Active | Fixed | Re-Opened; absent when Qualys gives none (optional in its DTD): an open finding. */
  status: z.string().optional(),
  ...fieldsOf(optionalString, 'firstFound', 'lastFound', 'lastFixed', 'lastTest', 'lastUpdate', 'lastProcessed'),
  /** Qualys Detection Score, 1 – 100. */
  qds: z.number().int().min(0).max(100).optional(),
  /** LOW | MEDIUM | HIGH | CRITICAL */
  qdsSeverity: optionalString,
  timesFound: z.number().int().min(0).optional(),
  isIgnored: z.boolean().optional(),
  isDisabled: z.boolean().optional(),
  /** Scan evidence; only with show_results=1 (can be large). */
  results: optionalString,
});
export type Detection = z.infer<typeof detectionSchema>;

export const hostDetectionsSchema = qualysHostSchema.extend({
  detections: z.array(detectionSchema),
});
export type HostDetections = z.infer<typeof hostDetectionsSchema>;

/** A KnowledgeBase entry, reduced to what maps a QID to CVEs and rates it. */
export const knowledgeBaseVulnSchema = z.object({
  qid: qualysIdSchema,
  title: optionalString,
  severity: z.number().int().min(1).max(5).optional(),
  /** Vulnerability | Potential Vulnerability | Information Gathered | … */
  vulnType: optionalString,
  category: optionalString,
  patchable: z.boolean().optional(),
  /** CVE IDs; empty when the QID has no CVE (no CVE_LIST). */
  cves: z.array(z.string()),
  /** Present only when CVSS scoring is enabled in the subscription. */
  cvssBase: z.number().optional(),
  cvss3Base: z.number().optional(),
  lastServiceModified: optionalString,
  published: optionalString,
});
export type KnowledgeBaseVuln = z.infer<typeof knowledgeBaseVulnSchema>;

export const hostAssetInterfaceSchema = z.object({
  ...fieldsOf(optionalString, 'interfaceName', 'macAddress', 'address', 'gatewayAddress', 'hostname'),
  /** PRIVATE | PUBLIC */
  type: optionalString,
});
export type HostAssetInterface = z.infer<typeof hostAssetInterfaceSchema>;

/** A cloud connector's record of the instance (HostAsset `sourceInfo`): the MAC of cloud assets is often only here. */
export const hostAssetCloudSourceSchema = z.object({
  /** AWS | Azure | GCP */
  provider: z.enum(['AWS', 'Azure', 'GCP']),
  macAddress: optionalString,
  privateIpAddress: optionalString,
  /** EC2 instance ID, Azure vmId or GCP instance ID. */
  instanceId: optionalString,
});
export type HostAssetCloudSource = z.infer<typeof hostAssetCloudSourceSchema>;

/** An Asset Management (QPS) HostAsset: where MAC and gateway addresses come from. */
export const hostAssetSchema = z.object({
  /** Asset Management asset ID (not the host ID). */
  id: qualysIdSchema,
  /** The Qualys host ID this asset is (join key with Host List / Host List Detection). */
  qwebHostId: qualysIdSchema.optional(),
  ...fieldsOf(optionalString, 'name', 'dnsHostName', 'fqdn', 'os', 'address', 'netbiosName', 'trackingMethod'),
  interfaces: z.array(hostAssetInterfaceSchema),
  /** Absent when the asset has no cloud source (and in records staged before this field existed). */
  cloudSources: z.array(hostAssetCloudSourceSchema).optional(),
});
export type HostAsset = z.infer<typeof hostAssetSchema>;

/** The API limits Qualys reported in its response headers (API v2 only; QPS sends none). */
export const subscriptionLimitsSchema = z.object({
  rateLimit: z.number().int().optional(),
  rateWindowSeconds: z.number().int().optional(),
  rateRemaining: z.number().int().optional(),
  toWaitSeconds: z.number().int().optional(),
  concurrencyLimit: z.number().int().optional(),
  concurrencyRunning: z.number().int().optional(),
});
export type SubscriptionLimits = z.infer<typeof subscriptionLimitsSchema>;
