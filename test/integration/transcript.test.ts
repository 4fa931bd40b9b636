/**
 * What a run records, on the real services: the transcript written as the agent works
 * (not only at the end), usage, normalized actions, workspace changes, and
 * `run logs | actions | download` through the CLI.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startHarness, task, type Harness } from './harness';
import { cliFor } from './cli';
import { TEST_IMAGE } from './env';
import { artifactKeys } from '../../artifacts';

let h: Harness;
let dir: string;
const simlab = cliFor(
  () => h,
  () => dir,
);

beforeAll(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-transcript-'));
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a run records', () => {
  it('a transcript written as the agent works, changes since setup, actions, and downloads', async () => {
    const envId = await h.createEnvironment({
      agent: { harness: 'command', command: 'echo one; sleep 3; echo two; echo fixed > notes.txt; rm old.txt; echo new > added.txt' },
    });
    const taskId = await h.createTask(
      task([{ name: 'notes fixed', evaluationType: 'bash_command', command: 'grep -qx fixed notes.txt' }], {
        initCommands: [{ command: 'printf "draft\\nline 2\\n" > notes.txt; echo bye > old.txt; echo setup done' }],
      }),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    await h.waitForRun(runId!, (s) => s === 'running');
    // While the agent still works, its first line is already in the transcript.
    const deadline = Date.now() + 15_000;
    let streamed = false;
    while (!streamed && Date.now() < deadline) {
      const ev = await h.api('GET', `/runs/${runId}/events`);
      streamed = ev.body.items.some((e: any) => e.type === 'command_output' && e.data.text.includes('one'));
      const run = await h.api('GET', `/runs/${runId}`);
      if (!streamed && run.body.status !== 'running') break;
      if (!streamed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(streamed).toBe(true);
    expect((await h.api('GET', `/runs/${runId}`)).body.status).toBe('running');
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', passed: true });

    const logs = await simlab('run', 'logs', runId!, '--format', 'json');
    expect(logs.code).toBe(0);
    const events = JSON.parse(logs.out) as { seq: number; at: string; type: string; data: any }[];
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'status').map((e) => e.data.to)).toEqual(['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed']);
    expect(events.find((e) => e.type === 'setup' && e.data.step === 'init_command')!.data).toMatchObject({ index: 1, exitCode: 0, output: 'setup done\n' });
    expect(events.filter((e) => e.type === 'command_output').map((e) => e.data.text).join('')).toBe('one\ntwo\n');
    expect(events.find((e) => e.type === 'criterion')!.data).toMatchObject({ name: 'notes fixed', status: 'evaluated', passed: true });
    // In order: status changes, setup, output, criteria interleave as they happened.
    const order = events.map((e) => e.type);
    expect(order.indexOf('command_output')).toBeGreaterThan(order.indexOf('setup'));
    expect(order.lastIndexOf('command_output')).toBeLessThan(order.indexOf('criterion'));
    expect((await simlab('run', 'logs', runId!)).out).toMatch(/status\s+running -> evaluating/);

    const actions = JSON.parse((await simlab('run', 'actions', runId!, '--format', 'json')).out);
    expect(actions).toEqual([expect.objectContaining({ kind: 'command_run', outcome: 'ok', target: expect.stringContaining('echo one') })]);

    expect(run.changes).toEqual({
      added: [{ path: 'added.txt', size: 4 }],
      changed: [{ path: 'notes.txt', size: 6, diff: expect.stringContaining('-draft\n-line 2\n+fixed') }],
      deleted: [{ path: 'old.txt' }],
    });
    expect(run.usage).toEqual({
      inputTokens: null,
      outputTokens: null,
      cacheReadTokens: null,
      cacheWriteTokens: null,
      turns: null,
      toolCalls: null,
      costUsd: null,
      phases: { setup: expect.any(Number), agent: expect.any(Number), evaluation: expect.any(Number), archive: expect.any(Number) },
    });
    expect(run.usage.phases.agent).toBeGreaterThanOrEqual(3000);
    expect(run.agent.stopReason).toBe('exited');

    const out = path.join(dir, 'download');
    const dl = await simlab('run', 'download', runId!, '--output', out);
    expect(dl.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['agent.log', 'home.tar.gz', 'transcript.jsonl']);
    expect(execFileSync('tar', ['-tzf', path.join(out, 'home.tar.gz')], { encoding: 'utf8' })).toMatch(/agent\/added\.txt/);
    const lines = fs.readFileSync(path.join(out, 'transcript.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(events);
    expect(fs.readFileSync(path.join(out, 'agent.log'), 'utf8')).toBe('one\ntwo\n');
  });

  it("changes since setup of runs that set nothing up: measured against their image's home, archived once per image", async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: 'echo made > made.txt; echo "$SIMLAB_RUN_ID" > whoami.txt' } });
    const taskId = await h.createTask(task([{ name: 'made', evaluationType: 'bash_command', command: 'test -s made.txt' }]));
    const runIds = await h.runTask(taskId, [envId, envId]);
    const runs = await Promise.all(runIds.map((id) => h.waitForRun(id)));
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'completed', passed: true });
      // Each run's own changes only: nothing of the other run, nothing of the shared archive's maker.
      expect(run.changes).toEqual({ added: [{ path: 'made.txt', size: 5 }, { path: 'whoami.txt', size: run.id.length + 1 }], changed: [], deleted: [] });
    }
    const image = await h.docker.getImage(TEST_IMAGE).inspect();
    const shared = await h.artifacts.get(artifactKeys.imageHome(image.Id));
    expect(shared).not.toBeNull();
    shared!.stream.destroy();
    // Every run keeps a setup archive of its own: deleting a run's artifacts never touches another's.
    for (const id of runIds) {
      const own = await h.artifacts.get(artifactKeys.setupArchive(id));
      expect(own?.bytes).toBe(shared!.bytes);
      own!.stream.destroy();
    }
  });

  it("reads a command agent's claude-code stream into messages, tool calls, usage and actions", async () => {
    const stream = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'claude-code-stream.jsonl'));
    const envId = await h.createEnvironment({
      agent: {
        harness: 'command',
        outputFormat: 'claude-code-stream-json',
        command: `echo ${stream.toString('base64')} | base64 -d`,
      },
    });
    const taskId = await h.createTask(task([{ name: 'tokens known', evaluationType: 'comparison', metric: 'total_tokens', operator: 'lt', value: 10000 }]));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run.usage).toMatchObject({ inputTokens: 5400, outputTokens: 170, cacheWriteTokens: 2000, cacheReadTokens: 9000, turns: 4, toolCalls: 3, costUsd: 0.0231 });
    expect(run.goals[0].criteria[0]).toMatchObject({ status: 'evaluated', score: 100, evidence: 'total_tokens = 5570; required < 10000: holds' });
    const events = (await h.api('GET', `/runs/${runId}/events?limit=1000`)).body.items as { type: string; data: any }[];
    const typed = events.filter((e) => ['agent_message', 'thinking', 'tool_call', 'tool_result', 'usage'].includes(e.type)).map((e) => e.type);
    expect(typed).toEqual(['thinking', 'agent_message', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'tool_call', 'tool_result', 'agent_message', 'usage']);
    expect(events.find((e) => e.type === 'tool_result' && e.data.id === 'toolu_02')!.data.output).toBe('def add(a, b):\n    return a - b\n');
    const actions = (await h.api('GET', `/runs/${runId}/actions`)).body.items;
    expect(actions.map((a: any) => [a.kind, a.target, a.outcome])).toEqual([
      ['message_to_user', 'Let me look at the project.', 'ok'],
      ['command_run', 'ls -la', 'ok'],
      ['file_read', '/home/agent/calc.py', 'ok'],
      ['file_edited', '/home/agent/calc.py', 'ok'],
      ['message_to_user', 'Fixed add() in calc.py.', 'ok'],
    ]);
  });

  it('follows a live run with run logs --follow, one JSON event per line, until it ends', async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: 'echo start; sleep 2; echo end' } });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'bash_command', command: 'true' }]));
    const [runId] = await h.runTask(taskId, [envId]);
    await h.waitForRun(runId!, (s) => s === 'running');
    const followed = await simlab('run', 'logs', runId!, '--follow', '--format', 'json');
    expect(followed.code).toBe(0);
    const lines = followed.out.split('\n').map((l) => JSON.parse(l));
    expect(lines[lines.length - 1]).toMatchObject({ type: 'status', data: { to: 'completed' } });
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
  });

  it('stores output with NUL bytes (binary output never breaks a run)', async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: "printf 'a\\000b\\n'; printf 'x\\000' > nul.txt; find . -print0; echo; echo hello > hello.txt" } });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'bash_command', command: 'cat nul.txt; test -e hello.txt' }]));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100, failure: null });
    expect(run.agent.outputExcerpt).toContain('a\ufffdb');
    const events = (await h.api('GET', `/runs/${runId}/events?limit=1000`)).body.items;
    expect(events.filter((e: any) => e.type === 'command_output').map((e: any) => e.data.text).join('')).toContain('a\ufffdb\n');
  });
});
