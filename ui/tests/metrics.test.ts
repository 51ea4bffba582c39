import { describe, expect, it } from 'vitest';
import { parseMetrics } from '../src/metrics';

describe('parseMetrics', () => {
  it('reads series with and without labels, skipping comments', () => {
    const m = parseMetrics(
      [
        '# HELP tapir_collector_store_errors_total Store transactions that failed, by cause.',
        '# TYPE tapir_collector_store_errors_total counter',
        'tapir_collector_store_errors_total{cause="busy"} 3',
        'tapir_collector_store_errors_total{cause="full"} 0',
        'tapir_collector_tls_handshake_failures_total 7',
        'garbage',
        '',
      ].join('\n'),
    );
    expect(m.get('tapir_collector_store_errors_total{cause="busy"}')).toBe(3);
    expect(m.get('tapir_collector_store_errors_total{cause="full"}')).toBe(0);
    expect(m.get('tapir_collector_tls_handshake_failures_total')).toBe(7);
    expect(m.size).toBe(3);
  });
});
