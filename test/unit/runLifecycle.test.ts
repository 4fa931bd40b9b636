import { canTransition, RUN_STATUSES, isTerminal } from '../../domain/runLifecycle';

describe('run lifecycle', () => {
  it('moves forward one step at a time along the documented path', () => {
    const path = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'] as const;
    for (let i = 0; i + 1 < path.length; i++) expect(canTransition(path[i]!, path[i + 1]!)).toBe(true);
    expect(canTransition('queued', 'running')).toBe(false);
    expect(canTransition('running', 'creating_sandbox')).toBe(false);
    expect(canTransition('evaluating', 'completed')).toBe(false);
  });

  it('lets any live run fail or be cancelled, and nothing leave a terminal status', () => {
    for (const s of RUN_STATUSES) {
      expect(canTransition(s, 'failed')).toBe(!isTerminal(s));
      expect(canTransition(s, 'cancelled')).toBe(!isTerminal(s));
    }
    expect(canTransition('completed', 'failed')).toBe(false);
    expect(canTransition('failed', 'queued')).toBe(false);
  });
});
