// The event schema served by the collector (GET /api/v1/schema), which is
// itself derived from the proto descriptors: the UI builds every resource's
// list, filters and detail view from it, with no per-resource code.
import { apiJson } from './api';

export type FieldType =
  | 'integer'
  | 'unsigned'
  | 'number'
  | 'boolean'
  | 'string'
  | 'timestamp'
  | 'ip'
  | 'mac'
  | 'hex'
  | 'bytes'
  | 'enum'
  | 'json';

export interface SchemaField {
  name: string;
  type: FieldType;
  description: string;
  enumValues?: string[];
  operators?: string[];
}

export interface SchemaResource {
  name: string;
  description: string;
  fields: SchemaField[];
}

export interface Schema {
  resources: SchemaResource[];
}

const TYPE_ALIASES: Record<string, FieldType> = {
  int: 'integer', int64: 'integer', integer: 'integer', uint: 'unsigned', uint64: 'unsigned',
  unsigned: 'unsigned', double: 'number', float: 'number', number: 'number', bool: 'boolean',
  boolean: 'boolean', text: 'string', string: 'string', timestamp: 'timestamp', time: 'timestamp',
  ip: 'ip', mac: 'mac', hex: 'hex', bytes: 'bytes', enum: 'enum', json: 'json', array: 'json',
};

// Accepts the schema document and normalises names that differ between versions.
export function normaliseSchema(raw: unknown): Schema {
  const r = raw as { resources?: unknown };
  const list: Record<string, unknown>[] = Array.isArray(r?.resources)
    ? (r.resources as Record<string, unknown>[])
    : Object.entries((r?.resources ?? {}) as Record<string, Record<string, unknown>>).map(
        ([name, v]): Record<string, unknown> => ({ ...v, name }),
      );
  return {
    resources: list.map((res) => {
      const fieldsRaw = (res.fields ?? res.columns ?? []) as Record<string, unknown>[];
      return {
        name: String(res.name),
        description: String(res.description ?? ''),
        fields: fieldsRaw.map((f) => {
          const values = (f.enum ?? f.enum_values ?? f.values) as unknown;
          return {
            name: String(f.name),
            type: TYPE_ALIASES[String(f.type ?? 'string')] ?? 'string',
            description: String(f.description ?? ''),
            enumValues: Array.isArray(values)
              ? values.map((v) => (typeof v === 'object' && v ? String((v as { name: string }).name) : String(v)))
              : undefined,
            operators: Array.isArray(f.operators) ? (f.operators as string[]) : undefined,
          };
        }),
      };
    }),
  };
}

export async function loadSchema(): Promise<Schema> {
  return normaliseSchema(await apiJson<unknown>('/api/v1/schema'));
}

// Columns shown by default in list views; every other field can be added with
// the column picker. Resources not listed show the common header and the
// first few of their own fields.
export const DEFAULT_COLUMNS: Record<string, string[]> = {
  flow: ['ts', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'ip_proto', 'app_proto', 'src_packets', 'dst_packets', 'src_ip_bytes', 'dst_ip_bytes', 'end_reason'],
  dns: ['ts', 'src_ip', 'dst_ip', 'query', 'qtype_name', 'rcode_name', 'answer_data', 'rtt_us'],
  tls: ['ts', 'src_ip', 'dst_ip', 'dst_port', 'sni', 'version_name', 'alpn', 'ja3_hash', 'ja4'],
  http: ['ts', 'src_ip', 'dst_ip', 'method', 'host', 'uri', 'status', 'response_body_len', 'latency_us'],
  arp: ['ts', 'op', 'sender_ip', 'sender_mac', 'target_ip', 'target_mac', 'gratuitous', 'anomalies'],
  icmp: ['ts', 'src_ip', 'dst_ip', 'type_name', 'code', 'echo_id', 'echo_seq', 'rtt_us'],
  packet: ['ts', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'ip_proto', 'wire_len', 'tcp_flags', 'layers'],
  agent: ['ts', 'agent_id', 'hostname', 'version', 'os', 'arch'],
  // The raw bytes (up to 128 KiB of hex) are in the detail view.
  rejects: ['ts', 'agent_id', 'sequence', 'reason', 'event_index', 'event_type', 'detail', 'size'],
};

const HIDDEN = new Set(['ingest_ts', 'agent_id']);

export function defaultColumns(res: SchemaResource): string[] {
  const names = new Set(res.fields.map((f) => f.name));
  const preferred = (DEFAULT_COLUMNS[res.name] ?? []).filter((n) => names.has(n));
  if (preferred.length) return preferred;
  return res.fields
    .filter((f) => f.name !== 'id' && !HIDDEN.has(f.name) && f.type !== 'json')
    .slice(0, 8)
    .map((f) => f.name);
}

export function label(name: string): string {
  return name.replace(/_/g, ' ');
}
