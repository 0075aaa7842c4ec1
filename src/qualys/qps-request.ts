/** Builds QPS `ServiceRequest` bodies for Asset Management host asset search and count. */

export interface HostIdRange {
  idMin: number;
  idMax: number;
}

/** QPS only pages by 1–1000 records. */
export const QPS_MAX_PAGE_SIZE = 1000;

/**
 * Assets whose Qualys host ID is within [idMin, idMax]; QPS has GREATER and LESSER (strict), not
 * ranges. `afterId` continues a search after the last asset `id` of the previous page.
 */
export function hostAssetSearchRequest(range: HostIdRange, pageSize: number, afterId?: number, hostIds?: readonly number[]): string {
  const criteria = [...hostIdCriteria(range)];
  // Only these hosts of the range (an incremental run's changed hosts): qwebHostId IN (…).
  if (hostIds !== undefined) criteria.push(`<Criteria field="qwebHostId" operator="IN">${hostIds.join(',')}</Criteria>`);
  if (afterId !== undefined) criteria.push(criterion('id', 'GREATER', afterId));
  return (
    '<ServiceRequest>' +
    `<preferences><limitResults>${pageSize}</limitResults></preferences>` +
    `<filters>${criteria.join('')}</filters>` +
    '</ServiceRequest>'
  );
}

export function hostAssetCountRequest(range?: Partial<HostIdRange>): string {
  const criteria = hostIdCriteria(range ?? {});
  // "Everything" still as a filter: an empty <ServiceRequest/> is not a documented request shape.
  if (criteria.length === 0) criteria.push(criterion('id', 'GREATER', 0));
  return `<ServiceRequest><filters>${criteria.join('')}</filters></ServiceRequest>`;
}

function hostIdCriteria(range: Partial<HostIdRange>): string[] {
  const criteria: string[] = [];
  if (range.idMin !== undefined) criteria.push(criterion('qwebHostId', 'GREATER', range.idMin - 1));
  if (range.idMax !== undefined) criteria.push(criterion('qwebHostId', 'LESSER', range.idMax + 1));
  return criteria;
}

function criterion(field: string, operator: 'GREATER' | 'LESSER', value: number): string {
  // Values are integers checked by the caller, so nothing here needs XML escaping.
  return `<Criteria field="${field}" operator="${operator}">${value}</Criteria>`;
}
