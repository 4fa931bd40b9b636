/**
 * The claude harness end to end: real Temporal, Docker and PostgreSQL, the real SDK, and a
 * fake Messages API answering from a script. The API key and address reach the harness as
 * the run's secrets, as a user would supply them.
 */
import type { ChildProcess } from 'node:child_process';
import { startWorkerProcess } from './workerProcess';
import { startHarness, task, type Harness } from './harness';
import { SANDBOX_IMAGE } from './env';
import { assistantMessage, overloaded, startFakeAnthropic, textMessage, toolUse, type FakeAnthropic, type ScriptedAnswer } from './fakeAnthropic';
import { DEFAULT_PRICES, costOf } from '../../config/prices';

let h: Harness;
let fake: FakeAnthropic;
let envCount = 0;

const SYSTEM = 'You are a careful engineer.';
const MODEL = 'claude-sonnet-4-6';
const AGENT_EVENTS = ['agent_message', 'thinking', 'tool_call', 'tool_result', 'usage', 'error'];
const noScript: ScriptedAnswer = { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'no scripted answer' } } };

beforeAll(async () => {
  h = await startHarness();
  fake = await startFakeAnthropic();
  expect((await h.api('PUT', '/secrets/ANTHROPIC_API_KEY', { value: 'sk-ant-test-0123456789' })).status).toBe(201);
  expect((await h.api('PUT', '/secrets/ANTHROPIC_BASE_URL', { value: fake.baseURL })).status).toBe(201);
});
afterAll(async () => {
  await fake?.close();
  await h?.close();
});

/** `secrets: false`: the key and address come from the worker's configuration instead. */
async function startClaudeRun(h: Harness, agent: Record<string, unknown>, goals: unknown[], answers: ScriptedAnswer[], prompt = 'Write hello into src/hello.txt', secrets = true) {
  fake.requests.length = 0;
  fake.script(answers, noScript);
  const envId = await h.createEnvironment({
    name: `claude-${++envCount}`,
    image: SANDBOX_IMAGE,
    resources: { cpus: 1, memoryMb: 512, pids: 256 },
    secrets: secrets ? ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'] : [],
    agent: { harness: 'claude', model: MODEL, systemPrompt: SYSTEM, maxTurns: 10, ...agent },
  });
  const taskId = await h.createTask(task(goals, { prompt }));
  const [runId] = await h.runTask(taskId, [envId]);
  return runId!;
}

async function outcome(h: Harness, runId: string, run: any) {
  const row = await h.prisma.run.findUniqueOrThrow({ where: { id: runId } });
  const events = (await h.prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' } })).filter((e) => AGENT_EVENTS.includes(e.type));
  const toolCalls = await h.prisma.agentToolCall.findMany({ where: { runId }, orderBy: { startedAt: 'asc' } });
  const turns = await h.prisma.agentTurn.findMany({ where: { runId }, orderBy: { index: 'asc' } });
  return { run, row, events, toolCalls, turns, requests: fake.requests.map((r) => r.body) };
}

async function runClaude(agent: Record<string, unknown>, goals: unknown[], answers: ScriptedAnswer[], prompt?: string) {
  const runId = await startClaudeRun(h, agent, goals, answers, prompt);
  return outcome(h, runId, await h.waitForRun(runId, undefined, 180_000));
}

it('runs a conversation of tool calls in the sandbox, with thinking, and keeps its transcript, usage and cost', async () => {
  const thinking = { type: 'thinking', thinking: 'I should look around first.', signature: 'sig-abc-123' };
  const bash = toolUse('bash', { command: 'echo hi > notes.txt && cat notes.txt && id -un' }, 'toolu_bash');
  const write = toolUse('write_file', { path: 'src/hello.txt', content: 'hello world\n' }, 'toolu_write');
  const edit = toolUse('edit_file', { path: 'src/hello.txt', old_string: 'world', new_string: 'simlab' }, 'toolu_edit');
  const read = toolUse('read_file', { path: 'src/hello.txt' }, 'toolu_read');
  const badEdit = toolUse('edit_file', { path: 'src/hello.txt', old_string: 'absent', new_string: 'x' }, 'toolu_badedit');
  const usages: Record<string, number>[] = [
    { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 500, cache_creation_input_tokens: 100 },
    { input_tokens: 1100, output_tokens: 40 },
    { input_tokens: 1200, output_tokens: 40 },
    { input_tokens: 1300, output_tokens: 60 },
    { input_tokens: 1400, output_tokens: 30 },
  ];
  const first = assistantMessage([thinking, { type: 'text', text: 'Let me check the sandbox.' }, bash], { usage: usages[0]! });
  const { run, row, events, toolCalls, turns, requests } = await runClaude(
    { thinkingBudgetTokens: 2048, maxTokens: 4096 },
    [
      {
        name: 'hello',
        criteria: [
          { name: 'edited', evaluationType: 'file_content_match', path: 'src/hello.txt', pattern: '^hello simlab$', flags: 'm' },
          { name: 'owned by the agent', evaluationType: 'bash_command', command: 'test "$(stat -c %U src/hello.txt)" = agent && grep -qx hi notes.txt' },
        ],
      },
    ],
    [
      { body: first },
      { body: assistantMessage([write], { usage: usages[1]! }) },
      { body: assistantMessage([edit], { usage: usages[2]! }) },
      { body: assistantMessage([read, badEdit], { usage: usages[3]! }) },
      { body: assistantMessage([{ type: 'text', text: 'Done: src/hello.txt says hello simlab.' }], { usage: usages[4]! }) },
    ],
  );
  expect(run).toMatchObject({ status: 'completed', passed: true, score: 100 });

  // What was sent: the model, the system prompt, the tools, thinking, and the growing conversation.
  expect(requests).toHaveLength(5);
  for (const r of requests) {
    expect(r).toMatchObject({ model: MODEL, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(r.system).toContain(SYSTEM);
    expect(r.system).toContain('/home/agent');
    expect(r.temperature).toBeUndefined();
    expect(r.tools.map((t: any) => t.name)).toEqual(['bash', 'read_file', 'write_file', 'edit_file', 'list_files']);
    const schemas = Object.fromEntries(r.tools.map((t: any) => [t.name, t.input_schema]));
    expect(schemas.bash).toMatchObject({ type: 'object', required: ['command'], properties: { command: { type: 'string' } } });
    expect(schemas.write_file).toMatchObject({ type: 'object', required: ['path', 'content'] });
    expect(schemas.edit_file).toMatchObject({ type: 'object', required: ['path', 'old_string', 'new_string'] });
    expect(schemas.read_file).toMatchObject({ type: 'object', required: ['path'] });
    expect(schemas.list_files).toMatchObject({ type: 'object' });
  }
  expect(requests[0].messages).toEqual([{ role: 'user', content: 'Write hello into src/hello.txt' }]);
  // The thinking block goes back exactly as it came, signature included.
  expect(requests[1].messages[1]).toEqual({ role: 'assistant', content: first.content });
  expect(requests[4].messages).toHaveLength(9);
  expect(requests[4].messages[1]).toEqual({ role: 'assistant', content: first.content });
  const results = (i: number) => requests[i].messages[2 * i].content;
  expect(results(1)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_bash', content: 'hi\nagent\n[exit code 0]' }]);
  expect(results(2)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_write', content: 'wrote 12 bytes to /home/agent/src/hello.txt' }]);
  expect(results(3)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_edit', content: 'edited /home/agent/src/hello.txt: 1 replacement' }]);
  expect(results(4)).toEqual([
    { type: 'tool_result', tool_use_id: 'toolu_read', content: 'hello simlab\n' },
    { type: 'tool_result', tool_use_id: 'toolu_badedit', content: expect.stringContaining('old_string was not found'), is_error: true },
  ]);

  // The transcript, in the order things happened.
  expect(events.map((e) => e.type)).toEqual([
    'thinking', 'agent_message', 'tool_call', 'usage', 'tool_result',
    'tool_call', 'usage', 'tool_result',
    'tool_call', 'usage', 'tool_result',
    'tool_call', 'tool_call', 'usage', 'tool_result', 'tool_result',
    'agent_message', 'usage',
  ]);
  expect(events[0]!.data).toEqual({ text: 'I should look around first.' });
  expect(events[2]!.data).toEqual({ id: 'toolu_bash', name: 'bash', input: bash.input });
  expect(events[3]!.data).toMatchObject({ turn: 1, inputTokens: 1000, outputTokens: 200, cacheReadTokens: 500, cacheWriteTokens: 100 });
  expect(events[4]!.data).toEqual({ id: 'toolu_bash', name: 'bash', output: 'hi\nagent\n[exit code 0]', isError: false });
  expect(events[15]!.data).toMatchObject({ id: 'toolu_badedit', isError: true });
  expect(events[16]!.data).toEqual({ text: 'Done: src/hello.txt says hello simlab.' });

  // Usage and cost on the run.
  const totals = { inputTokens: 6000, outputTokens: 370, cacheReadTokens: 500, cacheWriteTokens: 100 };
  expect(row).toMatchObject({ ...totals, agentTurns: 5, toolCalls: 5, agentStopReason: 'end_turn', agentExitCode: 0, agentTimedOut: false });
  expect(row.costUsd).toBeCloseTo(costOf(DEFAULT_PRICES, MODEL, totals)!, 10);
  expect(row.costUsd).toBeCloseTo((6000 * 3 + 370 * 15 + 500 * 0.3 + 100 * 3.75) / 1e6, 10);

  // The durable record of the conversation.
  expect(turns.map((t) => [t.index, t.reply === null])).toEqual([[0, false], [1, false], [2, false], [3, false], [4, true]]);
  expect(toolCalls.map((c) => [c.toolUseId, c.turn, c.status])).toEqual([
    ['toolu_bash', 0, 'done'],
    ['toolu_write', 1, 'done'],
    ['toolu_edit', 2, 'done'],
    ['toolu_read', 3, 'done'],
    ['toolu_badedit', 3, 'done'],
  ]);
  expect(await h.sandboxesLeft()).toEqual([]);
}, 240_000);

it('retries an overloaded API (529) and carries on', async () => {
  const { run, row, requests } = await runClaude(
    {},
    [{ name: 'nothing', criteria: [{ name: 'home exists', evaluationType: 'bash_command', command: 'test -d /home/agent' }] }],
    [overloaded, { body: textMessage('Nothing to do.') }],
  );
  expect(run).toMatchObject({ status: 'completed', passed: true });
  // The same turn, asked twice.
  expect(requests).toHaveLength(2);
  expect(requests[1]).toEqual(requests[0]);
  expect(requests[0].thinking).toBeUndefined();
  expect(requests[0].system).toContain(SYSTEM);
  expect(row).toMatchObject({ agentStopReason: 'end_turn', agentTurns: 1, toolCalls: 0, inputTokens: 1000, outputTokens: 20 });
}, 240_000);

it('stops at the cost cap after the turn that crosses it, and still evaluates the run', async () => {
  const { run, row, requests, events } = await runClaude(
    { costCapUsd: 0.01 },
    [{ name: 'file', criteria: [{ name: 'written', evaluationType: 'file_exists', path: 'big.txt' }] }],
    [
      // 5000 × $3 + 200 × $15 per million: $0.018, over the cap after one turn.
      { body: assistantMessage([toolUse('bash', { command: 'echo big > big.txt' })], { usage: { input_tokens: 5000, output_tokens: 200 } }) },
      { body: textMessage('never asked') },
    ],
  );
  expect(requests).toHaveLength(1);
  expect(row).toMatchObject({ agentStopReason: 'cost_cap', agentTurns: 1, toolCalls: 1, agentExitCode: null });
  expect(row.costUsd).toBeCloseTo(0.018, 10);
  expect(run.status).toBe('completed');
  expect(run.goals[0].criteria[0]).toMatchObject({ name: 'written', status: 'evaluated', passed: true });
  // The agent step reports the harness's agentFailure as the transcript's last word.
  expect(events.map((e) => e.type)).toEqual(['tool_call', 'usage', 'tool_result', 'error']);
  expect(events[3]!.data).toEqual({ step: 'agent', message: "the agent's estimated cost ($0.0180) exceeded its cap ($0.01)" });
}, 240_000);

it('stops after maxTurns', async () => {
  const { run, row, requests, toolCalls } = await runClaude(
    { maxTurns: 2 },
    [{ name: 'n', criteria: [{ name: 'ran once', evaluationType: 'bash_command', command: 'test "$(cat n.txt)" = 1' }] }],
    [
      { body: assistantMessage([toolUse('bash', { command: 'echo 1 >> n.txt' })]) },
      { body: assistantMessage([toolUse('list_files', {})]) },
      { body: textMessage('never asked') },
    ],
  );
  expect(requests).toHaveLength(2);
  expect(toolCalls.map((c) => [c.name, c.status])).toEqual([['bash', 'done'], ['list_files', 'done']]);
  expect((toolCalls[1]!.result as any).output).toMatch(/^n\.txt$/m);
  expect(row).toMatchObject({ agentStopReason: 'max_turns', agentTurns: 2, toolCalls: 2, agentExitCode: null });
  expect(run).toMatchObject({ status: 'completed', passed: true });
}, 240_000);

it('fails the run as a configuration error when no API key is configured', async () => {
  // The in-process workers have no key of their own: only the secrets would give one.
  const runId = await startClaudeRun(h, {}, [{ name: 'g', criteria: [{ name: 'c', evaluationType: 'bash_command', command: 'true' }] }], [], undefined, false);
  const run = await h.waitForRun(runId, undefined, 120_000);
  expect(run.status).toBe('failed');
  expect(JSON.stringify(run)).toContain('the claude harness needs ANTHROPIC_API_KEY');
  expect((await h.prisma.run.findUniqueOrThrow({ where: { id: runId } })).failureCategory).toBe('setup');
  expect(fake.requests).toHaveLength(0);
}, 180_000);

describe('a worker killed mid-conversation', () => {
  let c: Harness;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    c = await startHarness({ inProcessWorkers: false });
  });
  afterAll(async () => {
    for (const w of children) if (w.exitCode === null) w.kill('SIGKILL');
    await c?.close();
  });

  /** The API key is the worker's configuration: it cannot open the harness's secrets (another keyring). */
  async function startWorker(): Promise<ChildProcess> {
    const child = await startWorkerProcess(c, { ANTHROPIC_API_KEY: 'sk-ant-test-0123456789', ANTHROPIC_BASE_URL: fake.baseURL });
    children.push(child);
    return child;
  }

  it('continues from the last completed turn, and reports the tool call it was running as interrupted instead of running it again', async () => {
    const first = await startWorker();
    const runId = await startClaudeRun(
      c,
      {},
      [{ name: 'log', criteria: [{ name: 'turn 1 ran once', evaluationType: 'bash_command', command: 'test "$(grep -c one log.txt)" = 1' }] }],
      [
        { body: assistantMessage([toolUse('bash', { command: 'echo one >> log.txt' }, 'toolu_c1')]) },
        { body: assistantMessage([{ type: 'text', text: 'Now the slow part.' }, toolUse('bash', { command: 'sleep 6; echo two >> log.txt' }, 'toolu_c2')]) },
        { body: textMessage('Done.') },
      ],
      undefined,
      false,
    );
    const deadline = Date.now() + 60_000;
    while (!(await c.prisma.agentToolCall.findUnique({ where: { runId_toolUseId: { runId, toolUseId: 'toolu_c2' } } }))) {
      if (Date.now() > deadline) throw new Error('the second tool call never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const container = (await c.prisma.run.findUniqueOrThrow({ where: { id: runId } })).containerId;
    expect((await c.sandboxesLeft()).map((s) => s.id)).toEqual([container]);

    const second = await startWorker();
    let result;
    try {
      result = await outcome(c, runId, await c.waitForRun(runId, undefined, 180_000));
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
    const { run, row, events, toolCalls, turns, requests } = result;
    expect(run).toMatchObject({ status: 'completed', passed: true });
    // Each turn was asked once: turn 2's answer was replayed, not asked again.
    expect(requests).toHaveLength(3);
    expect(requests[2].messages[4].content).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_c2', content: expect.stringContaining('interrupted by a worker restart'), is_error: true },
    ]);
    expect(toolCalls.map((t) => [t.toolUseId, t.status])).toEqual([['toolu_c1', 'done'], ['toolu_c2', 'interrupted']]);
    expect(turns).toHaveLength(3);
    // Every event once.
    expect(events.map((e) => e.type)).toEqual(['tool_call', 'usage', 'tool_result', 'agent_message', 'tool_call', 'usage', 'tool_result', 'agent_message', 'usage']);
    expect(events[6]!.data).toMatchObject({ id: 'toolu_c2', isError: true, interrupted: true });
    expect(row).toMatchObject({ containerId: container, agentStopReason: 'end_turn', agentTurns: 3, toolCalls: 2 });
    expect(await c.sandboxesLeft()).toEqual([]);
  }, 300_000);
});
