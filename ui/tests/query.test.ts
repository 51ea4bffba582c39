import { describe, expect, it } from 'vitest';
import { aggregateUrl, filterKey, listQuery, listUrl, manyUrl, totalFromHeaders } from '../src/query';

describe('filterKey', () => {
  it('keeps explicit operators', () => {
    for (const k of ['src_port_eq', 'id_ne', 'ts_gte', 'query_like', 'rcode_in', 'rtt_us_lt']) {
      expect(filterKey(k)).toBe(k);
    }
  });
  it('maps a bare field (reference filters) to equality', () => {
    expect(filterKey('community_id')).toBe('community_id_eq');
    expect(filterKey('src_port')).toBe('src_port_eq');
  });
  it('does not mistake a field ending in an operator-like word', () => {
    // "_in" inside a name is not a suffix operator unless it ends the key.
    expect(filterKey('interfaces')).toBe('interfaces_eq');
  });
});

describe('listQuery', () => {
  it('maps paging to _start/_end (react-admin pages are 1-based)', () => {
    const q = listQuery({ pagination: { page: 3, perPage: 25 } });
    expect(q.get('_start')).toBe('50');
    expect(q.get('_end')).toBe('75');
  });
  it('maps sorting and normalises the order', () => {
    const q = listQuery({ sort: { field: 'ts', order: 'asc' } });
    expect(q.get('_sort')).toBe('ts');
    expect(q.get('_order')).toBe('ASC');
    expect(listQuery({ sort: { field: 'ts', order: 'DESC' } }).get('_order')).toBe('DESC');
  });
  it('maps filters, skipping empty values', () => {
    const q = listQuery({ filter: { src_port_eq: 53, query_like: '', rcode_name_eq: null } });
    expect(q.get('src_port_eq')).toBe('53');
    expect(q.has('query_like')).toBe(false);
    expect(q.has('rcode_name_eq')).toBe(false);
  });
  it('wraps a plain like filter in wildcards but keeps explicit patterns', () => {
    expect(listQuery({ filter: { query_like: 'example' } }).get('query_like')).toBe('*example*');
    expect(listQuery({ filter: { query_like: 'www.*' } }).get('query_like')).toBe('www.*');
  });
  it('joins arrays for _in and formats dates and booleans', () => {
    const q = listQuery({
      filter: { rcode_in: [0, 3], ts_gte: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), has_response_eq: false },
    });
    expect(q.get('rcode_in')).toBe('0,3');
    expect(q.get('ts_gte')).toBe('2024-01-02T03:04:05.000Z');
    expect(q.get('has_response_eq')).toBe('false');
  });
});

describe('urls', () => {
  it('builds a list URL', () => {
    expect(
      listUrl('/api/v1', 'dns', {
        pagination: { page: 1, perPage: 10 },
        sort: { field: 'ts', order: 'DESC' },
        filter: { rcode_eq: 3 },
      }),
    ).toBe('/api/v1/dns?rcode_eq=3&_sort=ts&_order=DESC&_start=0&_end=10');
  });
  it('builds a getMany URL with id_in', () => {
    expect(manyUrl('/api/v1', 'flow', [1, 2, 7])).toBe('/api/v1/flow?id_in=1%2C2%2C7');
  });
  it('builds an aggregation URL', () => {
    const u = aggregateUrl('/api/v1', 'flow', {
      groupBy: ['src_ip'],
      metrics: ['count', 'sum:src_ip_bytes'],
      sort: 'sum_src_ip_bytes',
      order: 'DESC',
      limit: 10,
    });
    const q = new URL(u, 'http://x').searchParams;
    expect(q.get('group_by')).toBe('src_ip');
    expect(q.get('metrics')).toBe('count,sum:src_ip_bytes');
    expect(q.get('_limit')).toBe('10');
  });
  it('reads X-Total-Count, falling back when absent or bad', () => {
    expect(totalFromHeaders(new Headers({ 'X-Total-Count': '1234' }), 5)).toBe(1234);
    expect(totalFromHeaders(new Headers(), 5)).toBe(5);
    expect(totalFromHeaders(new Headers({ 'X-Total-Count': 'x' }), 5)).toBe(5);
  });
});
