/**
 * The deterministic analysis on fixture transcripts: friction points (errors, exits, loops,
 * stalls, timeouts), built-in and pattern signals, and failure clusters with stable names.
 */
import { deterministicFriction, classify } from '../../analysis/friction';
import { deterministicClusters, failureBasis, type FailingRun } from '../../analysis/clusters';
import { extractSignals } from '../../analysis/signals';
import { parseSignalConfig } from '../../analysis/signalConfig';
import { normalizeSignature } from '../../analysis/signature';
import { matchPattern } from '../../analysis/patterns';
import type { RunFacts } from '../../analysis/types';
import type { TranscriptEvent } from '../../transcript/types';

const T0 = Date.parse('2026-11-23T10:00:00Z');
function events(specs: [number, TranscriptEvent['type'], Record<string, unknown>][]): TranscriptEvent[] {
  return specs.map(([sec, type, data], i) => ({ seq: i + 1, at: new Date(T0 + sec * 1000).toISOString(), type, data }));
}

function run(over: Partial<RunFacts>): RunFacts {
  return {
    runId: 'run_a', iterationId: 'iter_1', taskId: 'task_1', environmentId: 'env_1', variant: 'base', repeat: 1,
    status: 'completed', score: 0, passed: false, failureCategory: null, failureMessage: null,
    agentExitCode: 0, agentTimedOut: false, agentStopReason: 'end_turn', agentDurationMs: 90_000, runDurationMs: 120_000,
    inputTokens: 1000, outputTokens: 200, costUsd: 0.01, agentTurns: 4, toolCalls: 5, agentCommand: null, taskPrompt: 'Deploy the app',
    criteria: [{ goal: 'deploys', name: 'app responds', evaluationType: 'bash_command', status: 'evaluated', score: 0, maxScore: 1, passed: false, evidence: 'curl: (7) Failed to connect' }],
    events: [], ...over,
  };
}

// A claude-harness run: reads docs, hits a 401 twice with the same command, edits, waits 2 minutes.
const CLAUDE = events([
  [0, 'status', { from: 'creating_sandbox', to: 'running' }],
  [1, 'tool_call', { id: 't1', name: 'read_file', input: { path: 'README.md' } }],
  [2, 'tool_result', { id: 't1', name: 'read_file', output: '# App', isError: false }],
  [3, 'tool_call', { id: 't2', name: 'bash', input: { command: 'acme deploy --prod' } }],
  [4, 'tool_result', { id: 't2', name: 'bash', output: 'Error: HTTP 401 Unauthorized: invalid API key\nexit code 1', isError: true }],
  [5, 'tool_call', { id: 't3', name: 'bash', input: { command: 'acme  deploy --prod' } }],
  [6, 'tool_result', { id: 't3', name: 'bash', output: 'Error: HTTP 401 Unauthorized: invalid API key\nexit code 1', isError: true }],
  [7, 'tool_call', { id: 't4', name: 'WebFetch', input: { url: 'https://docs.acme.dev/auth' } }],
  [8, 'tool_result', { id: 't4', name: 'WebFetch', output: '404 Not Found: docs page missing', isError: false }],
  [9, 'tool_call', { id: 't5', name: 'edit_file', input: { path: 'deploy.sh' } }],
  [130, 'tool_result', { id: 't5', name: 'edit_file', output: 'ok', isError: false }],
  [131, 'agent_message', { text: 'I could not authenticate.' }],
  [132, 'status', { from: 'running', to: 'evaluating' }],
]);

describe('deterministic friction analyser', () => {
  it('finds errors, classified; the retry loop; the stall', () => {
    const points = deterministicFriction(run({ events: CLAUDE }));
    expect(points.map((p) => [p.kind, p.seqs])).toEqual([
      ['auth', [5]],
      ['auth', [7]],
      ['missing_docs', [9]],
      ['retry_loop', [4, 6]],
      ['stall', [10, 11]],
    ]);
    expect(points[0]!.description).toBe('bash failed: Error: HTTP 401 Unauthorized: invalid API key');
    expect(points[3]!.description).toBe('ran `acme deploy --prod` 2 times (2 failed)');
    expect(points[4]!.description).toBe('no activity for 121 s');
  });

  it("a plain command agent: its error lines, its non-zero exit, its timeout", () => {
    const evs = events([
      [0, 'status', { from: 'creating_sandbox', to: 'running' }],
      [1, 'command_output', { text: 'starting\ncat: /home/agent/app/config.yml: No such file or directory\n' }],
      [2, 'status', { from: 'running', to: 'evaluating' }],
    ]);
    const points = deterministicFriction(run({ events: evs, agentCommand: 'sh run.sh', agentExitCode: 1, agentTimedOut: true }));
    expect(points.map((p) => [p.kind, p.seqs, p.signature])).toEqual([
      ['environment', [2], 'cat: …/config.yml: no such file or directory'],
      ['non_zero_exit', [2], 'agent exit code <n>'],
      ['timeout', [3], 'agent timed out'],
    ]);
  });

  it('a clean run has no friction', () => {
    const evs = events([[0, 'status', { from: 'creating_sandbox', to: 'running' }], [1, 'command_output', { text: 'all good, 0 errors\n' }]]);
    expect(deterministicFriction(run({ events: evs, passed: true }))).toEqual([]);
  });

  it('classifies error text', () => {
    expect(classify('bash: jq: command not found')).toBe('environment');
    expect(classify('403 Forbidden')).toBe('auth');
    expect(classify('operation timed out')).toBe('timeout');
    expect(classify('edit_file: string to replace not found')).toBe('wrong_tool');
    expect(classify('TypeError: x is undefined')).toBe('error');
  });
});

describe('signals', () => {
  const config = parseSignalConfig(`signals:
  - {name: duration, type: number, metric: agent_duration_seconds}
  - {name: tokens, type: number, metric: total_tokens}
  - {name: failure, type: category, metric: failure_category}
  - {name: saw_401, type: boolean, pattern: "HTTP 401", in: [outputs]}
  - {name: count_401, type: number, pattern: "401", measure: count}
  - {name: first_401, type: number, pattern: "401", in: [outputs], measure: first_position}
  - {name: deploy_cmds, type: number, pattern: "^acme\\\\s+deploy", in: [commands], measure: count}
  - {name: repeated_failing, type: number, builtin: repeated_failing_commands}
  - {name: retried, type: number, builtin: commands_retried_after_error}
  - {name: reads_before_edit, type: number, builtin: files_read_before_first_edit}
  - {name: docs, type: number, builtin: docs_pages_fetched}
  - {name: responds, type: boolean, criterion: deploys/app responds}
  - {name: responds_score, type: number, criterion: app responds, measure: score}
  - {name: missing, type: boolean, criterion: nope}
  - {name: judged, type: boolean, question: Did it give up?}
`);
  it('extracts every kind from a fixture transcript', () => {
    if (!config.ok) throw new Error(JSON.stringify(config.violations));
    const { signals, problems } = extractSignals(run({ events: CLAUDE }), config.config.signals, { judged: true });
    expect(signals).toEqual({
      duration: 90, tokens: 1200, failure: 'none', saw_401: true, count_401: 2, first_401: 5, deploy_cmds: 2,
      repeated_failing: 1, retried: 1, reads_before_edit: 1, docs: 1, responds: false, responds_score: 0, missing: null, judged: true,
    });
    expect(problems).toEqual(["signal missing: the run has no criterion 'nope'"]);
  });

  it('an unknown metric is null, never 0', () => {
    if (!config.ok) throw new Error('config');
    const { signals } = extractSignals(run({ inputTokens: null }), config.config.signals, {});
    expect(signals.tokens).toBeNull();
    expect(signals.judged).toBeNull();
  });

  it('a catastrophic pattern times out instead of blocking the worker', () => {
    const started = Date.now();
    expect(() => matchPattern('(a+)+$', '', [{ seq: 1, text: `${'a'.repeat(40)}!` }], 200)).toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('failure clusters', () => {
  const failing = (id: string, env: string, message: string, kind: 'auth' | 'environment'): FailingRun => ({
    runId: id, taskId: 'task_1', environmentId: env, variant: 'base', failureCategory: null, failureMessage: null, failingCriteria: [],
    friction: [{ kind, description: message, seqs: [3], signature: normalizeSignature(message) }],
  });
  const runs = [
    failing('run_1', 'env_a', 'Error: HTTP 401 Unauthorized for token abc123def4567', 'auth'),
    failing('run_2', 'env_a', 'Error: HTTP 401 Unauthorized for token 99ffee0011aa2', 'auth'),
    failing('run_3', 'env_b', 'cat: /srv/app-17/config.yml: No such file or directory', 'environment'),
    failing('run_4', 'env_b', 'cat: /srv/app-18/config.yml: No such file or directory', 'environment'),
    failing('run_5', 'env_b', 'cat: /srv/app-19/config.yml: No such file or directory', 'environment'),
  ];

  it('groups by normalized signature, with root cause categories and fixes', () => {
    const clusters = deterministicClusters(runs);
    expect(clusters.map((c) => [c.name, c.rootCauseCategory, c.runIds])).toEqual([
      ['Environment problems: cat: …/config.yml: no such file or directory', 'environment', ['run_3', 'run_4', 'run_5']],
      ['Authentication failures: error: http <n> unauthorized for token <hex>', 'product', ['run_1', 'run_2']],
    ]);
    expect(clusters[0]!.recommendedFix).toMatch(/environment image/);
    // Input order does not matter.
    expect(deterministicClusters([...runs].reverse())).toEqual(clusters);
  });

  it('keeps the previous iteration\'s name for a similar cluster', () => {
    const previous = [{ name: 'Token rejected', signature: 'auth: error: http <n> unauthorized for token <hex>' }];
    const clusters = deterministicClusters(runs, previous);
    expect(clusters.map((c) => c.name)).toContain('Token rejected');
    expect(clusters.find((c) => c.name === 'Token rejected')!.runIds).toEqual(['run_1', 'run_2']);
  });

  it('falls back to the failure message, then to the failing criterion', () => {
    const base = { runId: 'r', taskId: 't', environmentId: 'e', variant: null, friction: [] };
    expect(failureBasis({ ...base, failureCategory: 'setup', failureMessage: 'init command `make` exited 2', failingCriteria: [] }).signature).toBe('setup: init command `make` exited <n>');
    expect(failureBasis({ ...base, failureCategory: null, failureMessage: null, failingCriteria: [{ name: 'says hello', evidence: 'exit code 1\nmore' }] }).signature).toBe('criterion: says hello: exit code <n>');
  });
});
