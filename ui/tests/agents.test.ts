import { describe, expect, it } from 'vitest';
import { rejectsLink, rejectsPerAgent } from '../src/Agents';
import { listQuery } from '../src/query';

describe('rejects on the Agents page', () => {
  it('maps the per-agent aggregation to counts', () => {
    const m = rejectsPerAgent([
      { agent_id: 'agent-1', count: 5 },
      { agent_id: 'agent-2', count: '2' },
    ]);
    expect(m.get('agent-1')).toBe(5);
    expect(m.get('agent-2')).toBe(2);
    expect(m.get('agent-3')).toBeUndefined();
  });
  it('links to the rejects list filtered to the agent', () => {
    const link = rejectsLink('agent "1"');
    expect(link.startsWith('#/rejects?filter=')).toBe(true);
    const filter = JSON.parse(decodeURIComponent(link.slice('#/rejects?filter='.length)));
    expect(filter).toEqual({ agent_id_eq: 'agent "1"' });
    expect(listQuery({ filter }).get('agent_id_eq')).toBe('agent "1"');
  });
});
