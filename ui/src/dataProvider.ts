// react-admin data provider for the collector's read-only query API.
import type { DataProvider } from 'react-admin';
import { API_BASE, apiFetch } from './api';
import { listUrl, manyUrl, totalFromHeaders } from './query';

const readOnly = () => Promise.reject(new Error('Tapir events are read-only'));

export const dataProvider: DataProvider = {
  async getList(resource, params) {
    const resp = await apiFetch(listUrl(API_BASE, resource, params));
    const data = await resp.json();
    return { data, total: totalFromHeaders(resp.headers, data.length) };
  },
  async getOne(resource, params) {
    const resp = await apiFetch(`${API_BASE}/${encodeURIComponent(resource)}/${encodeURIComponent(String(params.id))}`);
    return { data: await resp.json() };
  },
  async getMany(resource, params) {
    if (!params.ids.length) return { data: [] };
    const resp = await apiFetch(manyUrl(API_BASE, resource, params.ids as Array<string | number>));
    return { data: await resp.json() };
  },
  async getManyReference(resource, params) {
    const resp = await apiFetch(
      listUrl(API_BASE, resource, {
        ...params,
        filter: { ...params.filter, [params.target]: params.id },
      }),
    );
    const data = await resp.json();
    return { data, total: totalFromHeaders(resp.headers, data.length) };
  },
  create: readOnly,
  update: readOnly,
  updateMany: readOnly,
  delete: readOnly,
  deleteMany: readOnly,
};
