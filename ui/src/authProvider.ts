// Sign-in with an API token (created on the collector host with `tapir token create`).
import type { AuthProvider } from 'react-admin';
import { ApiError, apiFetch, getToken, setToken } from './api';

export const authProvider: AuthProvider = {
  async login({ token }: { token: string }) {
    const t = (token ?? '').trim();
    if (!t) throw new Error('Enter an API token');
    try {
      await apiFetch('/api/v1/schema', {}, t);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) throw new Error('Invalid token');
      throw e;
    }
    setToken(t);
  },
  async logout() {
    setToken(null);
  },
  async checkAuth() {
    if (!getToken()) throw new Error('Sign in with an API token');
  },
  async checkError(error: { status?: number }) {
    if (error?.status === 401 || error?.status === 403) {
      setToken(null);
      throw new Error('Session expired');
    }
  },
  async getPermissions() {
    return 'reader';
  },
};
