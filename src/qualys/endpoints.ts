/** The Qualys calls this connector makes, by a stable name used in errors, metrics and limits. */
export const qualysEndpoints = [
  'hostList',
  'hostDetection',
  'knowledgeBase',
  'hostAssetSearch',
  'hostAssetCount',
] as const;

export type QualysEndpoint = (typeof qualysEndpoints)[number];

interface EndpointInfo {
  /** How Qualys names the API in its documentation, for messages a person reads. */
  readonly title: string;
  /** Path below the platform's API base URL. */
  readonly path: string;
  /** API v2 (`/api/2.0/fo/…`, form posts, SIMPLE_RETURN errors) or QPS REST (`/qps/rest/…`, XML posts, ServiceResponse). */
  readonly family: 'v2' | 'qps';
}

// API v2.0 paths: the output formats in docs/reference (DTDs, field names) are those of 2.0.
export const endpointInfo: Readonly<Record<QualysEndpoint, EndpointInfo>> = {
  hostList: { title: 'Host List', path: '/api/2.0/fo/asset/host/', family: 'v2' },
  hostDetection: {
    title: 'Host List Detection',
    path: '/api/2.0/fo/asset/host/vm/detection/',
    family: 'v2',
  },
  knowledgeBase: { title: 'KnowledgeBase', path: '/api/2.0/fo/knowledge_base/vuln/', family: 'v2' },
  hostAssetSearch: {
    title: 'Asset Management host asset search',
    path: '/qps/rest/2.0/search/am/hostasset',
    family: 'qps',
  },
  hostAssetCount: {
    title: 'Asset Management host asset count',
    path: '/qps/rest/2.0/count/am/hostasset',
    family: 'qps',
  },
};
