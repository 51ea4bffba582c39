import { useEffect, useState } from 'react';
import { apiJson } from './api';
import { aggregateUrl, type AggregateParams } from './query';

export type Row = Record<string, unknown>;

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
}

// Aggregation rows: [{<group fields>, bucket?, count, sum_<field> ...}].
export function useAggregate(resource: string, params: AggregateParams, refresh = 0): Loaded<Row[]> {
  const url = aggregateUrl('/api/v1', resource, params);
  const [state, setState] = useState<Loaded<Row[]>>({ loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    apiJson<unknown>(url)
      .then((body) => {
        const rows = Array.isArray(body) ? body : ((body as { rows?: Row[]; data?: Row[] }).rows ?? (body as { data?: Row[] }).data ?? []);
        if (live) setState({ data: rows as Row[], loading: false });
      })
      .catch((e: Error) => live && setState({ error: e.message, loading: false }));
    return () => {
      live = false;
    };
  }, [url, refresh]);
  return state;
}

export function useJson<T>(path: string, refresh = 0): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: true });
  useEffect(() => {
    let live = true;
    apiJson<T>(path)
      .then((data) => live && setState({ data, loading: false }))
      .catch((e: Error) => live && setState({ error: e.message, loading: false }));
    return () => {
      live = false;
    };
  }, [path, refresh]);
  return state;
}

export function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}
