// Display of API values by field type.
import type { SchemaField } from './schema';

export function formatValue(value: unknown, field?: Pick<SchemaField, 'type' | 'name'>): string {
  if (value === undefined || value === null || value === '') return '';
  if (Array.isArray(value)) return value.map((v) => formatValue(v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  if (field?.type === 'json' && typeof value === 'string') {
    try {
      return formatValue(JSON.parse(value));
    } catch {
      return value;
    }
  }
  if (field?.type === 'timestamp') {
    const d = typeof value === 'number' ? new Date(value / 1e6) : new Date(String(value));
    return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace('Z', '');
  }
  if (field && /_us$/.test(field.name) && typeof value === 'number') {
    return value >= 1000 ? `${(value / 1000).toFixed(value >= 100000 ? 0 : 1)} ms` : `${value} µs`;
  }
  if (field && /bytes/.test(field.name) && typeof value === 'number') return formatBytes(value);
  if (field && /tcp_flags$/.test(field.name) && typeof value === 'number') return tcpFlags(value);
  return String(value);
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function tcpFlags(f: number): string {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
  const set = names.filter((_, i) => f & (1 << i));
  return set.length ? set.join(' ') : '0';
}
