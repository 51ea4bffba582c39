// HTTP access to the collector's query API, with the bearer token kept in
// localStorage after sign-in.
export const API_BASE = '/api/v1';
const TOKEN_KEY = 'tapir.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string | null) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
    public body?: unknown,
  ) {
    super(message);
  }
}

export async function apiFetch(path: string, init: RequestInit = {}, token = getToken()) {
  const headers = new Headers(init.headers);
  headers.set('Accept', 'application/json');
  if (token) headers.set('Authorization', `Bearer ${token}`);
  let resp: Response;
  try {
    resp = await fetch(path.startsWith('/') ? path : `${API_BASE}/${path}`, { ...init, headers });
  } catch (e) {
    throw new ApiError(`Cannot reach the collector (${(e as Error).message})`, 0);
  }
  if (!resp.ok) {
    let body: unknown;
    let message = `${resp.status} ${resp.statusText}`;
    try {
      body = await resp.json();
      const m = (body as { error?: string; message?: string }) ?? {};
      message = m.error ?? m.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(message, resp.status, body);
  }
  return resp;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const resp = await apiFetch(path, init);
  return (await resp.json()) as T;
}
