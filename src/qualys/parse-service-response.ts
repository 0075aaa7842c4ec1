import { z } from 'zod';
import { parseDocument } from './parse-document';
import type { XmlContext, XmlDocument } from './xml';
import { integer, list, node, optionalId, requiredId, requiredText, text } from './xml-values';

export const SERVICE_RESPONSE_ROOT = 'ServiceResponse';

/**
 * What a cloud connector reports about an instance (hostasset.xsd `sourceInfo/list`; J1 fixtures
 * ec2-, azure- and gcp-host-assets.xml). Cloud-connector assets often have their MAC only here.
 */
const cloudSourceSchema = z.object({
  macAddress: text,
  privateIpAddress: text,
  instanceId: text,
  vmId: text,
});

/**
 * HostAsset as `/qps/xsd/2.0/am/hostasset.xsd` describes it: every element optional (minOccurs 0), `id`
 * aside — the record's identity. A value of unexpected form is dropped and counted; elements not
 * listed (tags, software, openPort, agentInfo, …) are ignored.
 */
export const hostAssetElementSchema = z.object({
  id: requiredId,
  qwebHostId: optionalId, // XSD: optional (assets Qualys VM has not scanned have none)
  name: text,
  dnsHostName: text,
  fqdn: text,
  os: text,
  address: text,
  netbiosName: text,
  trackingMethod: text,
  sourceInfo: node({
    list: node({
      Ec2AssetSourceSimple: list(cloudSourceSchema),
      AzureAssetSourceSimple: list(cloudSourceSchema),
      GcpAssetSourceSimple: list(cloudSourceSchema),
    }),
  }),
  networkInterface: node({
    list: node({
      HostAssetInterface: list(
        z.object({
          interfaceName: text,
          macAddress: text,
          address: text,
          gatewayAddress: text,
          hostname: text,
          type: text,
        }),
      ),
    }),
  }),
});
export type HostAssetElement = z.output<typeof hostAssetElementSchema>;

/**
 * The QPS envelope. Qualys answers HTTP 200 even for errors; `responseCode` says what happened
 * (SUCCESS, INVALID_CREDENTIALS, UNAUTHORIZED, INVALID_REQUEST, …).
 */
const serviceResponseSchema = z.object({
  responseCode: requiredText,
  count: integer({ min: 0 }),
  // Some Qualys documents spell it COUNT.
  COUNT: integer({ min: 0 }),
  hasMoreRecords: z.enum(['true', 'false']).optional(),
  lastId: optionalId,
  data: node({ HostAsset: list(hostAssetElementSchema) }),
  responseErrorDetails: node({ errorMessage: text, errorResolution: text }),
});
export type ServiceResponse = z.output<typeof serviceResponseSchema>;

export function parseServiceResponse(document: XmlDocument, context: XmlContext): ServiceResponse {
  return parseDocument(serviceResponseSchema, document, SERVICE_RESPONSE_ROOT, context);
}
