// Every agent with its host facts, when it was last heard from, and its
// counters, so that loss anywhere (kernel, queue, spool) is visible; how much
// of what it sent the collector refused (kept in the rejects table); and the
// collector's own counters that concern agents (refused TLS handshakes,
// store failures by cause) from its /metrics.
import { Alert, Box, Card, CardContent, Chip, CircularProgress, Typography } from '@mui/material';
import { useEffect, useState } from 'react';
import { Title } from 'react-admin';
import { formatValue } from './format';
import { parseMetrics } from './metrics';
import { num, useAggregate, useJson, type Row } from './useApi';

const COUNTERS: Array<[string, string, boolean]> = [
  ['counters_packets_seen', 'captured', false],
  ['counters_kernel_drops', 'kernel drops', true],
  ['counters_if_drops', 'interface drops', true],
  ['counters_malformed', 'malformed', false],
  ['counters_events', 'events', false],
  ['counters_events_exported', 'exported', false],
  ['counters_spooled', 'spooled', true],
  ['counters_dropped', 'dropped', true],
  ['counters_dropped_queue_full', 'dropped: queue full', true],
  ['counters_dropped_spool_full', 'dropped: spool full', true],
  ['counters_dropped_spool_error', 'dropped: spool error', true],
  ['counters_dropped_shutdown', 'dropped: at exit', true],
  ['counters_sequence_write_failures', 'sequence counter write failures', true],
  ['counters_store_failures', 'collector store failures', true],
  ['counters_tls_failures', 'TLS handshake failures', true],
];

// Collector counters about agents, by Prometheus series name (labels included).
const COLLECTOR_COUNTERS: Array<[string, string]> = [
  ['tapir_collector_tls_handshake_failures_total', 'TLS handshake failures'],
  ['tapir_collector_auth_failures_total', 'streams refused after TLS'],
  ['tapir_collector_store_errors_total{cause="busy"}', 'store errors: busy (locked)'],
  ['tapir_collector_store_errors_total{cause="full"}', 'store errors: disk full'],
  ['tapir_collector_store_errors_total{cause="io"}', 'store errors: I/O'],
  ['tapir_collector_store_errors_total{cause="corrupt"}', 'store errors: corrupt'],
  ['tapir_collector_store_errors_total{cause="readonly"}', 'store errors: read-only'],
  ['tapir_collector_store_errors_total{cause="other"}', 'store errors: other'],
  ['tapir_collector_commit_retries_total', 'store transactions retried'],
  ['tapir_collector_commit_give_ups_total', 'streams failed by the store (agents resent)'],
];

function CollectorCounters() {
  const [metrics, setMetrics] = useState<Map<string, number> | undefined>();
  useEffect(() => {
    let live = true;
    fetch('/metrics')
      .then((r) => (r.ok ? r.text() : ''))
      .then((t) => live && setMetrics(parseMetrics(t)))
      .catch(() => live && setMetrics(new Map()));
    return () => {
      live = false;
    };
  }, []);
  if (!metrics || metrics.size === 0) return null;
  return (
    <Card data-testid="collector-card" sx={{ mb: 2 }}>
      <CardContent>
        <Typography variant="h6">Collector</Typography>
        <Box component="table" sx={{ mt: 1, width: '100%', fontSize: 14 }}>
          <tbody>
            {COLLECTOR_COUNTERS.map(([k, l]) => (
              <tr key={k} data-testid={`collector-${l.replace(/[^a-zA-Z]+/g, '-')}`}>
                <td>{l}</td>
                <td style={{ textAlign: 'right', fontWeight: 600, color: (metrics.get(k) ?? 0) > 0 ? '#c62828' : undefined }}>
                  {(metrics.get(k) ?? 0).toLocaleString()}
                </td>
              </tr>
            ))}
          </tbody>
        </Box>
      </CardContent>
    </Card>
  );
}

// The newest report of each agent.
export function latestPerAgent(rows: Row[]): Row[] {
  const seen = new Map<string, Row>();
  for (const r of rows) {
    const id = String(r.agent_id ?? '');
    const prev = seen.get(id);
    if (!prev || String(r.ts ?? '') > String(prev.ts ?? '')) seen.set(id, r);
  }
  return [...seen.values()].sort((a, b) => String(a.agent_id).localeCompare(String(b.agent_id)));
}

// Rejects per agent id, from GET /api/v1/rejects/aggregate?group_by=agent_id.
export function rejectsPerAgent(rows: Row[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(String(r.agent_id ?? ''), num(r.count));
  return out;
}

// The rejects list filtered to one agent.
export function rejectsLink(agentId: string): string {
  return `#/rejects?filter=${encodeURIComponent(JSON.stringify({ agent_id_eq: agentId }))}`;
}

export function Agents() {
  const state = useJson<Row[]>('/api/v1/agent?_sort=ts&_order=DESC&_start=0&_end=1000');
  const agents = latestPerAgent(state.data ?? []);
  const rejectState = useAggregate('rejects', { groupBy: ['agent_id'], metrics: ['count'], limit: 1000 });
  const rejects = rejectsPerAgent(rejectState.data ?? []);
  return (
    <Box sx={{ p: 2 }} data-testid="agents">
      <Title title="Agents" />
      <CollectorCounters />
      {state.loading ? (
        <CircularProgress />
      ) : state.error ? (
        <Alert severity="error">{state.error}</Alert>
      ) : agents.length === 0 ? (
        <Alert severity="info">No agent has reported yet.</Alert>
      ) : (
        <Box sx={{ display: 'grid', gap: 2, gridTemplateColumns: { xs: '1fr', md: '1fr 1fr' } }}>
          {agents.map((a) => {
            const lastSeen = Date.parse(String(a.ts ?? ''));
            const stale = Number.isFinite(lastSeen) && Date.now() - lastSeen > 5 * 60e3;
            let ifaces: string[] = [];
            try {
              const raw = a.interfaces;
              ifaces = Array.isArray(raw) ? raw.map(String) : raw ? JSON.parse(String(raw)) : [];
            } catch {
              ifaces = [String(a.interfaces)];
            }
            return (
              <Card key={String(a.agent_id)} data-testid="agent-card">
                <CardContent>
                  <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
                    <Typography variant="h6" sx={{ flex: 1 }}>
                      {String(a.agent_id)}
                    </Typography>
                    <Chip size="small" color={stale ? 'warning' : 'success'} label={stale ? 'stale' : 'reporting'} />
                  </Box>
                  <Typography variant="body2" color="text.secondary">
                    {String(a.hostname ?? '')} · {String(a.os ?? '')} · {String(a.arch ?? '')} · tapir {String(a.version ?? '')}
                  </Typography>
                  <Typography variant="body2">capturing: {ifaces.join(', ') || '—'}</Typography>
                  {a.instance_id ? (
                    <Typography variant="body2" color="text.secondary">
                      instance {String(a.instance_id)}
                    </Typography>
                  ) : null}
                  <Typography variant="body2">
                    last seen {formatValue(a.ts, { type: 'timestamp', name: 'ts' })} · started{' '}
                    {formatValue(a.start_time, { type: 'timestamp', name: 'start_time' })}
                  </Typography>
                  <Box component="table" sx={{ mt: 1, width: '100%', fontSize: 14 }}>
                    <tbody>
                      {COUNTERS.filter(([k]) => !k.startsWith('counters_dropped_') || num(a[k]) > 0).map(([k, l, bad]) => (
                        <tr key={k} data-testid={`counter-${l.replace(/[^a-zA-Z]+/g, '-')}`}>
                          <td>{l}</td>
                          <td style={{ textAlign: 'right', fontWeight: 600, color: bad && num(a[k]) > 0 ? '#c62828' : undefined }}>
                            {num(a[k]).toLocaleString()}
                          </td>
                        </tr>
                      ))}
                      <tr data-testid="counter-rejected">
                        <td title="refused by the collector (invalid UTF-8, unknown event type, malformed, too large), kept in the rejects table">
                          rejected by collector
                        </td>
                        <td style={{ textAlign: 'right', fontWeight: 600, color: (rejects.get(String(a.agent_id)) ?? 0) > 0 ? '#c62828' : undefined }}>
                          {rejectState.error ? (
                            '?'
                          ) : (rejects.get(String(a.agent_id)) ?? 0) > 0 ? (
                            <a href={rejectsLink(String(a.agent_id))}>{(rejects.get(String(a.agent_id)) ?? 0).toLocaleString()}</a>
                          ) : (
                            '0'
                          )}
                        </td>
                      </tr>
                    </tbody>
                  </Box>
                </CardContent>
              </Card>
            );
          })}
        </Box>
      )}
    </Box>
  );
}
