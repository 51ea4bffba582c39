// The operator's first screen: traffic over time, top talkers and
// conversations, DNS names, codes and slow answers, TLS names and versions,
// HTTP hosts and statuses, and fingerprints seen for the first time.
import { Alert, Box, Card, CardContent, CircularProgress, MenuItem, Select, Typography } from '@mui/material';
import { useState, type ReactNode } from 'react';
import { Title } from 'react-admin';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { formatBytes, formatValue } from './format';
import { num, useAggregate, useJson, type Loaded, type Row } from './useApi';

const COLORS = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00897b', '#6d4c41', '#3949ab', '#c0ca33', '#5e35b1'];

const RANGES: Record<string, { ms: number; bucket: string }> = {
  '15m': { ms: 15 * 60e3, bucket: '30s' },
  '1h': { ms: 3600e3, bucket: '60s' },
  '24h': { ms: 86400e3, bucket: '15m' },
  '7d': { ms: 7 * 86400e3, bucket: '1h' },
  all: { ms: 0, bucket: '1h' },
};

function Panel({ title, state, children, testid }: { title: string; state: Loaded<unknown>; children: ReactNode; testid: string }) {
  return (
    <Card sx={{ minWidth: 0 }} data-testid={testid}>
      <CardContent>
        <Typography variant="subtitle1" gutterBottom>
          {title}
        </Typography>
        {state.loading && !state.data ? (
          <CircularProgress size={24} />
        ) : state.error ? (
          <Alert severity="error">{state.error}</Alert>
        ) : Array.isArray(state.data) && state.data.length === 0 ? (
          <Typography variant="body2" color="text.secondary" data-testid="no-data">
            No data in this time range.
          </Typography>
        ) : (
          children
        )}
      </CardContent>
    </Card>
  );
}

function TopBar({ rows, label, value, fmt }: { rows: Row[]; label: (r: Row) => string; value: string; fmt?: (n: number) => string }) {
  const data = rows.map((r) => ({ name: label(r), value: num(r[value]) }));
  return (
    <ResponsiveContainer width="100%" height={Math.max(120, data.length * 28 + 30)}>
      <BarChart data={data} layout="vertical" margin={{ left: 10, right: 20 }}>
        <CartesianGrid strokeDasharray="3 3" horizontal={false} />
        <XAxis type="number" tickFormatter={fmt} />
        <YAxis type="category" dataKey="name" width={190} tick={{ fontSize: 11 }} />
        <Tooltip formatter={(v: number) => (fmt ? fmt(v) : v)} />
        <Bar dataKey="value" fill="#1e88e5" isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}

function Donut({ rows, label, value }: { rows: Row[]; label: (r: Row) => string; value: string }) {
  const data = rows.map((r) => ({ name: label(r), value: num(r[value]) }));
  return (
    <ResponsiveContainer width="100%" height={220}>
      <PieChart>
        <Pie data={data} dataKey="value" nameKey="name" innerRadius={50} outerRadius={80} isAnimationActive={false}>
          {data.map((_, i) => (
            <Cell key={i} fill={COLORS[i % COLORS.length]} />
          ))}
        </Pie>
        <Tooltip />
        <Legend />
      </PieChart>
    </ResponsiveContainer>
  );
}

const str = (f: string) => (r: Row) => (r[f] === undefined || r[f] === null || r[f] === '' ? '(none)' : String(r[f]));

export function Dashboard() {
  const [range, setRange] = useState('all');
  const { ms, bucket } = RANGES[range];
  const [now] = useState(() => Date.now());
  const filter = ms ? { ts_gte: new Date(now - ms).toISOString() } : {};
  const top = (groupBy: string[], metric: string, sort: string) => ({ groupBy, metrics: [metric], filter, sort, order: 'DESC' as const, limit: 10 });

  const traffic = useAggregate('flow', { groupBy: ['agent_id'], bucket, metrics: ['sum:src_ip_bytes', 'sum:dst_ip_bytes', 'sum:src_packets', 'sum:dst_packets'], filter });
  const talkers = useAggregate('flow', top(['src_ip'], 'sum:src_ip_bytes', 'sum:src_ip_bytes'));
  const convs = useAggregate('flow', top(['src_ip', 'dst_ip'], 'sum:dst_ip_bytes', 'sum:dst_ip_bytes'));
  const names = useAggregate('dns', top(['query'], 'count', 'count'));
  const rcodes = useAggregate('dns', top(['rcode_name'], 'count', 'count'));
  const slow = useJson<Row[]>(`/api/v1/dns?has_response_eq=true&_sort=rtt_us&_order=DESC&_start=0&_end=10${ms ? `&ts_gte=${encodeURIComponent(filter.ts_gte!)}` : ''}`);
  const sni = useAggregate('tls', top(['sni'], 'count', 'count'));
  const versions = useAggregate('tls', top(['version_name'], 'count', 'count'));
  const hosts = useAggregate('http', top(['host'], 'count', 'count'));
  const statuses = useAggregate('http', top(['status'], 'count', 'count'));
  const fingerprints = useAggregate('tls', { groupBy: ['ja3_hash'], metrics: ['count', 'min:ts'], filter, sort: 'min:ts', order: 'DESC', limit: 10 });

  // Traffic rows -> one point per bucket with a series per agent.
  const series = new Set<string>();
  const byBucket = new Map<string, Record<string, number | string>>();
  for (const r of traffic.data ?? []) {
    const b = String(r.bucket ?? r.ts ?? '');
    const agent = String(r.agent_id ?? 'all') || 'all';
    series.add(agent);
    const p = byBucket.get(b) ?? { bucket: b };
    p[`${agent} bytes`] = num(r['sum:src_ip_bytes']) + num(r['sum:dst_ip_bytes']);
    p[`${agent} packets`] = num(r['sum:src_packets']) + num(r['sum:dst_packets']);
    byBucket.set(b, p);
  }
  const points = [...byBucket.values()].sort((a, b) => String(a.bucket).localeCompare(String(b.bucket)));
  const shortTime = (b: unknown) => formatValue(b, { type: 'timestamp', name: 'bucket' }).slice(5, 16);

  return (
    <Box sx={{ p: { xs: 1, md: 2 } }} data-testid="dashboard">
      <Title title="Dashboard" />
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, mb: 2 }}>
        <Typography variant="h5" sx={{ flex: 1 }}>
          Network at a glance
        </Typography>
        <Select size="small" value={range} onChange={(e) => setRange(e.target.value)} data-testid="range">
          {Object.keys(RANGES).map((k) => (
            <MenuItem key={k} value={k}>
              {k === 'all' ? 'all time' : `last ${k}`}
            </MenuItem>
          ))}
        </Select>
      </Box>
      <Box sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', md: '1fr 1fr', xl: '1fr 1fr 1fr' } }}>
        <Box sx={{ gridColumn: { md: '1 / -1' } }}>
          <Panel title="Traffic over time (bytes and packets per agent)" state={traffic} testid="chart-traffic">
            <ResponsiveContainer width="100%" height={260}>
              <LineChart data={points}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="bucket" tickFormatter={shortTime} />
                <YAxis yAxisId="b" tickFormatter={formatBytes} width={80} />
                <YAxis yAxisId="p" orientation="right" />
                <Tooltip labelFormatter={shortTime} />
                <Legend />
                {[...series].map((a, i) => [
                  <Line key={`${a}b`} yAxisId="b" type="monotone" dataKey={`${a} bytes`} stroke={COLORS[(2 * i) % COLORS.length]} dot={false} isAnimationActive={false} />,
                  <Line key={`${a}p`} yAxisId="p" type="monotone" dataKey={`${a} packets`} stroke={COLORS[(2 * i + 1) % COLORS.length]} dot={false} strokeDasharray="4 2" isAnimationActive={false} />,
                ])}
              </LineChart>
            </ResponsiveContainer>
          </Panel>
        </Box>
        <Panel title="Top talkers (bytes sent)" state={talkers} testid="chart-talkers">
          <TopBar rows={talkers.data ?? []} label={str('src_ip')} value="sum:src_ip_bytes" fmt={formatBytes} />
        </Panel>
        <Panel title="Top conversations (bytes answered)" state={convs} testid="chart-conversations">
          <TopBar rows={convs.data ?? []} label={(r) => `${r.src_ip} → ${r.dst_ip}`} value="sum:dst_ip_bytes" fmt={formatBytes} />
        </Panel>
        <Panel title="Top DNS names" state={names} testid="chart-dns-names">
          <TopBar rows={names.data ?? []} label={str('query')} value="count" />
        </Panel>
        <Panel title="DNS response codes" state={rcodes} testid="chart-dns-rcodes">
          <Donut rows={rcodes.data ?? []} label={str('rcode_name')} value="count" />
        </Panel>
        <Panel title="Slowest DNS answers" state={slow} testid="table-dns-slow">
          <table style={{ width: '100%', fontSize: 13 }}>
            <tbody>
              {(slow.data ?? []).map((r) => (
                <tr key={String(r.id)}>
                  <td>{String(r.query ?? '')}</td>
                  <td>{String(r.dst_ip ?? '')}</td>
                  <td style={{ textAlign: 'right' }}>{formatValue(r.rtt_us, { type: 'unsigned', name: 'rtt_us' })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
        <Panel title="TLS server names" state={sni} testid="chart-tls-sni">
          <TopBar rows={sni.data ?? []} label={str('sni')} value="count" />
        </Panel>
        <Panel title="TLS versions" state={versions} testid="chart-tls-versions">
          <Donut rows={versions.data ?? []} label={str('version_name')} value="count" />
        </Panel>
        <Panel title="HTTP hosts" state={hosts} testid="chart-http-hosts">
          <TopBar rows={hosts.data ?? []} label={str('host')} value="count" />
        </Panel>
        <Panel title="HTTP status codes" state={statuses} testid="chart-http-status">
          <Donut rows={statuses.data ?? []} label={str('status')} value="count" />
        </Panel>
        <Panel title="Newest TLS client fingerprints (JA3, by first seen)" state={fingerprints} testid="table-fingerprints">
          <table style={{ width: '100%', fontSize: 13, fontFamily: 'monospace' }}>
            <tbody>
              {(fingerprints.data ?? []).map((r, i) => (
                <tr key={i}>
                  <td>{String(r.ja3_hash ?? '(none)')}</td>
                  <td>{formatValue(r['min:ts'], { type: 'timestamp', name: 'ts' })}</td>
                  <td style={{ textAlign: 'right' }}>{num(r.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      </Box>
    </Box>
  );
}
