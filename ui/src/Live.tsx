// New events as they arrive (Server-Sent Events from the collector), pausable.
// fetch() streaming is used instead of EventSource so that the bearer token
// travels in the Authorization header, not in the URL.
import { Alert, Box, Button, Chip, FormControlLabel, Switch, Typography } from '@mui/material';
import { useEffect, useRef, useState } from 'react';
import { Title } from 'react-admin';
import { getToken } from './api';
import { formatValue } from './format';
import type { Row } from './useApi';

const MAX_ROWS = 200;

interface LiveEvent {
  type: string;
  data: Row;
  at: number;
}

export function parseSse(buffer: string): { events: Array<{ event: string; data: string }>; rest: string } {
  const events: Array<{ event: string; data: string }> = [];
  const blocks = buffer.split(/\r?\n\r?\n/);
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

function summary(e: LiveEvent): string {
  const d = e.data;
  const ep = (p: string) => `${d[`${p}_ip`] ?? ''}${d[`${p}_port`] ? `:${d[`${p}_port`]}` : ''}`;
  const pick = ['query', 'sni', 'host', 'uri', 'status', 'rcode_name', 'type_name', 'op', 'app_proto']
    .filter((k) => d[k] !== undefined && d[k] !== '')
    .map((k) => `${k}=${formatValue(d[k])}`);
  return `${ep('src')} → ${ep('dst')} ${pick.join(' ')}`;
}

export function Live() {
  const [paused, setPaused] = useState(false);
  const [rows, setRows] = useState<LiveEvent[]>([]);
  const [error, setError] = useState<string>();
  const [connected, setConnected] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const ctrl = new AbortController();
    (async () => {
      try {
        const resp = await fetch('/api/v1/stream', {
          headers: { Authorization: `Bearer ${getToken()}`, Accept: 'text/event-stream' },
          signal: ctrl.signal,
        });
        if (!resp.ok || !resp.body) throw new Error(`${resp.status} ${resp.statusText}`);
        setConnected(true);
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          const { events, rest } = parseSse(buf);
          buf = rest;
          if (pausedRef.current || !events.length) continue;
          const fresh: LiveEvent[] = [];
          for (const ev of events) {
            try {
              const parsed = JSON.parse(ev.data) as Row;
              const type = ev.event !== 'message' ? ev.event : String(parsed.type ?? parsed.resource ?? 'event');
              fresh.push({ type, data: (parsed.data as Row) ?? parsed, at: Date.now() });
            } catch {
              /* keep-alive or comment */
            }
          }
          setRows((r) => [...fresh.reverse(), ...r].slice(0, MAX_ROWS));
        }
        setConnected(false);
      } catch (e) {
        if (!ctrl.signal.aborted) {
          setConnected(false);
          setError((e as Error).message);
        }
      }
    })();
    return () => ctrl.abort();
  }, []);

  return (
    <Box sx={{ p: 2 }} data-testid="live">
      <Title title="Live" />
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, mb: 1 }}>
        <Typography variant="h6" sx={{ flex: 1 }}>
          Live events
        </Typography>
        <Chip size="small" color={connected ? 'success' : 'default'} label={connected ? 'connected' : 'disconnected'} />
        <FormControlLabel control={<Switch checked={paused} onChange={(e) => setPaused(e.target.checked)} />} label="Pause" />
        <Button size="small" onClick={() => setRows([])}>
          Clear
        </Button>
      </Box>
      {error && <Alert severity="error">{error}</Alert>}
      {rows.length === 0 && !error && (
        <Typography variant="body2" color="text.secondary">
          Waiting for events…
        </Typography>
      )}
      <Box component="table" sx={{ width: '100%', fontSize: 13, fontFamily: 'monospace' }}>
        <tbody>
          {rows.map((r, i) => (
            <tr key={`${r.at}-${i}`} data-testid="live-row">
              <td style={{ whiteSpace: 'nowrap', paddingRight: 12 }}>{formatValue(r.data.ts, { type: 'timestamp', name: 'ts' }).slice(11)}</td>
              <td style={{ paddingRight: 12 }}>
                <Chip size="small" label={r.type} />
              </td>
              <td>{summary(r)}</td>
            </tr>
          ))}
        </tbody>
      </Box>
    </Box>
  );
}
