// Pure mapping of react-admin data requests to the query API's parameters
// (the json-server / ra-data-simple-rest conventions the API follows):
//   filters   <field>_<op>=value   (op: eq ne lt lte gt gte like in)
//   sorting   _sort=<field>&_order=ASC|DESC
//   paging    _start=<first>&_end=<last+1>, total in X-Total-Count
// Kept free of React so it can be unit tested.

export const OPERATORS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'like', 'in'] as const;
export type Operator = (typeof OPERATORS)[number];

export interface ListParams {
  pagination?: { page: number; perPage: number };
  sort?: { field: string; order: 'ASC' | 'DESC' | string };
  filter?: Record<string, unknown>;
}

// A filter key already carrying an operator suffix is passed through; a bare
// field name means equality (react-admin's ReferenceManyField uses bare names).
export function filterKey(key: string): string {
  if (key === 'q') return key;
  for (const op of OPERATORS) if (key.endsWith(`_${op}`)) return key;
  return `${key}_eq`;
}

function filterValue(key: string, value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (Array.isArray(value)) return value.length ? value.map(String).join(',') : null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // The API's LIKE wildcard is '*'; a plain text filter means "contains".
  if (key.endsWith('_like') && typeof value === 'string' && !value.includes('*')) {
    return `*${value}*`;
  }
  return String(value);
}

export function listQuery(params: ListParams): URLSearchParams {
  const q = new URLSearchParams();
  const filter = params.filter ?? {};
  for (const key of Object.keys(filter).sort()) {
    const k = filterKey(key);
    const v = filterValue(k, filter[key]);
    if (v !== null) q.append(k, v);
  }
  if (params.sort?.field) {
    q.set('_sort', params.sort.field);
    q.set('_order', String(params.sort.order).toUpperCase() === 'ASC' ? 'ASC' : 'DESC');
  }
  if (params.pagination) {
    const { page, perPage } = params.pagination;
    q.set('_start', String((page - 1) * perPage));
    q.set('_end', String(page * perPage));
  }
  return q;
}

export function listUrl(base: string, resource: string, params: ListParams): string {
  const q = listQuery(params).toString();
  return `${base}/${encodeURIComponent(resource)}${q ? `?${q}` : ''}`;
}

export function manyUrl(base: string, resource: string, ids: Array<string | number>): string {
  const q = new URLSearchParams();
  q.set('id_in', ids.map(String).join(','));
  return `${base}/${encodeURIComponent(resource)}?${q.toString()}`;
}

export function totalFromHeaders(headers: Headers, fallback: number): number {
  const raw = headers.get('X-Total-Count');
  if (raw === null) return fallback;
  const n = Number.parseInt(raw, 10);
  return Number.isFinite(n) ? n : fallback;
}

export interface AggregateParams {
  groupBy?: string[];
  metrics?: string[];  // count, sum:field, avg:field, min:field, max:field
  bucket?: string;     // e.g. 60s, 5m, 1h
  filter?: Record<string, unknown>;
  sort?: string;
  order?: 'ASC' | 'DESC';
  limit?: number;
}

export function aggregateUrl(base: string, resource: string, p: AggregateParams): string {
  const q = listQuery({ filter: p.filter });
  if (p.groupBy?.length) q.set('group_by', p.groupBy.join(','));
  q.set('metrics', (p.metrics?.length ? p.metrics : ['count']).join(','));
  if (p.bucket) q.set('bucket', p.bucket);
  if (p.sort) q.set('_sort', p.sort);
  if (p.order) q.set('_order', p.order);
  if (p.limit) q.set('_limit', String(p.limit));
  return `${base}/${encodeURIComponent(resource)}/aggregate?${q.toString()}`;
}
