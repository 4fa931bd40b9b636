/**
 * Every evaluation type on the real services: passing and failing cases and their edges,
 * the judge through a local server that speaks the Messages API, an agent that tries to
 * tamper with its verdict, and the same post-run sandbox evaluated twice.
 */
import { startHarness, task, type Harness } from './harness';
import { SANDBOX_IMAGE } from './env';
import { startFakeAnthropic, textMessage, verdictMessage, type FakeAnthropic } from './fakeAnthropic';
import { AnthropicJudge } from '../../criteria/judge';
import { evaluateRun } from '../../criteria/evaluateRun';
import { normalizeEnvironment, normalizeTask, type TaskInput } from '../../domain/contract';
import { newId } from '../../domain/ids';
import { shellArgv } from '../../sandbox';

let h: Harness;
let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startFakeAnthropic();
  h = await startHarness({ judge: new AnthropicJudge({ apiKey: 'sk-ant-test-key', baseURL: fake.baseURL, maxRetries: 2 }) });
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
});

const sandboxEnv = (command: string) => ({ name: 'bookworm', image: SANDBOX_IMAGE, agent: { harness: 'command', command }, resources: { cpus: 1, memoryMb: 512, pids: 256 } });

/** The agent leaves files of every kind the criteria read. */
const AGENT = [
  `printf '{"name":"simlab","version":2,"tags":["a"]}' > report.json`,
  `printf '{"name":"simlab","version":"two","extra":1}' > wrong.json`,
  `printf '{"name": "x",\\n  "version": }' > broken.json`,
  `printf 'line one\\nTODO: nothing\\nstatus: done (v1.2)\\n' > notes.txt`,
  `printf 'abc\\000def MAGIC ghi' > blob.bin`,
  'ln -s notes.txt link.txt',
  'echo the agent finished',
].join('; ');

const criteria = (c: Record<string, unknown>[]) => [{ name: 'all', scoringMethod: 'weighted_average', criteria: c }];

describe('evaluation types', () => {
  it('scores every deterministic type exactly, with evidence', async () => {
    const envId = await h.createEnvironment(sandboxEnv(AGENT));
    const c = [
      { name: 'regex', evaluationType: 'file_content_match', path: 'notes.txt', pattern: 'status: (done|ok)' },
      { name: 'regex flags', evaluationType: 'file_content_match', path: 'notes.txt', pattern: 'STATUS', flags: 'i' },
      { name: 'literal', evaluationType: 'file_content_match', path: 'notes.txt', pattern: '(v1.2)', match: 'literal' },
      { name: 'no match', evaluationType: 'file_content_match', path: 'notes.txt', pattern: 'FIXME' },
      { name: 'negated', evaluationType: 'file_content_match', path: 'notes.txt', pattern: 'TODO', negate: true },
      { name: 'missing', evaluationType: 'file_content_match', path: 'nope.txt', pattern: 'x' },
      { name: 'binary', evaluationType: 'file_content_match', path: 'blob.bin', pattern: 'MAGIC', match: 'literal' },
      { name: 'through a link', evaluationType: 'file_content_match', path: 'link.txt', pattern: '^line one', flags: 'm' },
      { name: 'schema ok', evaluationType: 'json_schema', path: 'report.json', schema: { type: 'object', required: ['name', 'version'], properties: { version: { type: 'integer' } } } },
      { name: 'schema violations', evaluationType: 'json_schema', path: 'wrong.json', schema: { type: 'object', additionalProperties: false, properties: { name: { type: 'string' }, version: { type: 'integer' } } } },
      { name: 'not json', evaluationType: 'json_schema', path: 'broken.json', schema: { type: 'object' } },
      { name: 'python passes', evaluationType: 'python_script', script: 'import json\nassert json.load(open("report.json"))["version"] == 2\nprint("ok")' },
      { name: 'python fails', evaluationType: 'python_script', script: 'import sys\nprint("no")\nsys.exit(1)' },
      { name: 'python partial', evaluationType: 'python_script', maxScore: 10, script: 'import json\nprint(json.dumps({"score": 4, "reason": "4 of 10 checks"}))' },
      { name: 'python timeout', evaluationType: 'python_script', timeoutSeconds: 1, script: 'import time\nprint("started", flush=True)\ntime.sleep(30)' },
      {
        name: 'judge script',
        evaluationType: 'script_judge',
        script: '#!/bin/bash\nset -e\ngrep -q "the agent finished" "$SIMLAB_AGENT_LOG"\ntest "$SIMLAB_AGENT_EXIT_CODE" = 0\necho "{\\"score\\": 75, \\"reason\\": \\"log ok, exit $SIMLAB_AGENT_EXIT_CODE\\"}"',
      },
      { name: 'judge without shebang', evaluationType: 'script_judge', script: 'test -f report.json' },
      { name: 'exit code', evaluationType: 'comparison', metric: 'agent_exit_code', operator: 'eq', value: 0 },
      { name: 'quick', evaluationType: 'comparison', metric: 'agent_duration_seconds', operator: 'lt', value: 60 },
      { name: 'slow', evaluationType: 'comparison', metric: 'run_duration_seconds', operator: 'gt', value: 3600 },
    ];
    const taskId = await h.createTask(task(criteria(c)));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    const byName = Object.fromEntries(run.goals[0].criteria.map((x: any) => [x.name, x]));
    const scores = Object.fromEntries(run.goals[0].criteria.map((x: any) => [x.name, [x.status, x.score]]));
    expect(scores).toEqual({
      regex: ['evaluated', 100],
      'regex flags': ['evaluated', 100],
      literal: ['evaluated', 100],
      'no match': ['evaluated', 0],
      negated: ['evaluated', 0],
      missing: ['evaluated', 0],
      binary: ['evaluated', 100],
      'through a link': ['evaluated', 100],
      'schema ok': ['evaluated', 100],
      'schema violations': ['evaluated', 0],
      'not json': ['evaluated', 0],
      'python passes': ['evaluated', 100],
      'python fails': ['evaluated', 0],
      'python partial': ['evaluated', 4],
      'python timeout': ['evaluated', 0],
      'judge script': ['evaluated', 75],
      'judge without shebang': ['evaluated', 100],
      'exit code': ['evaluated', 100],
      quick: ['evaluated', 100],
      slow: ['evaluated', 0],
    });
    // weighted_average of score/maxScore over 20 criteria of weight 1: 10 full, 4/10 and 75/100.
    expect(run.goals[0].score).toBe(55.75);
    expect(run).toMatchObject({ status: 'completed', passed: false });
    expect(byName.regex.evidence).toBe('matches at notes.txt:3: status: done (v1.2)');
    expect(byName['no match'].evidence).toBe('no match for /FIXME/ in notes.txt');
    expect(byName.negated.evidence).toBe('matches, and must not: notes.txt:2: TODO: nothing');
    expect(byName.missing.evidence).toBe('nope.txt does not exist');
    expect(byName.binary.evidence).toContain('binary file: matched byte for byte');
    expect(byName['schema violations'].evidence).toBe('wrong.json: 2 violation(s)\n(document): must NOT have additional properties (extra)\n/version: must be integer');
    expect(byName['not json'].evidence).toMatch(/^broken.json is not valid JSON: .* at line 2, column \d+$/);
    expect(byName['python partial'].evidence).toMatch(/^exit 0, score 4\/10: 4 of 10 checks/);
    expect(byName['python timeout'].evidence).toMatch(/^timed out after 1s\nstarted/);
    expect(byName['judge script'].evidence).toMatch(/score 75\/100: log ok, exit 0/);
    expect(byName['exit code'].evidence).toBe('agent_exit_code = 0; required == 0: holds');
    expect(byName.slow.evidence).toMatch(/^run_duration_seconds = [\d.]+s; required > 3600s: does not hold$/);
  });

  it('an agent cannot tamper with its verdict: fake python3, PATH, criteria files, a process rewriting the checked file', async () => {
    const envId = await h.createEnvironment(
      sandboxEnv(
        [
          'mkdir -p bin && printf "#!/bin/sh\\nexit 0\\n" > bin/python3 && chmod +x bin/python3',
          'echo "export PATH=$HOME/bin:\\$PATH" >> .bashrc; echo "export PATH=$HOME/bin:\\$PATH" >> .profile',
          'mkdir -p /tmp/.simlab/criteria 2>/dev/null; printf "print(1)" > /tmp/.simlab/criteria/g0c0.py 2>/dev/null',
          'echo right > answer.txt',
          // Left behind to overwrite the checked file once the agent has "finished".
          '(sleep 3; while :; do echo wrong > answer.txt; sleep 0.1; done) &',
        ].join('; '),
      ),
    );
    const taskId = await h.createTask(
      task(
        criteria([
          { name: 'python sees the real file', evaluationType: 'python_script', script: 'import sys\nsys.exit(0 if open("answer.txt").read().strip() == "right" else 1)' },
          { name: 'file stays as the agent left it', evaluationType: 'bash_command', command: 'sleep 4; grep -qx right answer.txt' },
        ]),
      ),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    // The background writer was ended before evaluation, so the file stays as the agent left
    // it; the agent's own python3 and PATH were not used (the second run shows it: the fake
    // exits 0 and would pass a wrong answer).
    const got = run.goals[0].criteria.map((x: any) => [x.name, x.score]);
    expect(got).toEqual([
      ['python sees the real file', 100],
      ['file stays as the agent left it', 100],
    ]);
    const wrongAnswer = await h.createEnvironment(sandboxEnv('mkdir -p bin && printf "#!/bin/sh\\nexit 0\\n" > bin/python3 && chmod +x bin/python3 && echo "export PATH=$HOME/bin:\\$PATH" >> .bashrc && echo wrong > answer.txt'));
    const [second] = await h.runTask(taskId, [wrongAnswer]);
    const failed = await h.waitForRun(second!);
    expect(failed.goals[0].criteria.map((x: any) => x.score)).toEqual([0, 0]);
  });

  it('judges with a model: asserts what was sent, re-asks on a malformed answer, keeps the audit trail', async () => {
    fake.requests.length = 0;
    fake.script([
      { body: textMessage('I think it is fine.') },
      { body: verdictMessage({ score: 150, passed: true, reasons: ['too generous'] }) },
      { body: verdictMessage({ score: 80, passed: true, reasons: ['report.json has the version', 'notes say done'] }) },
    ]);
    const envId = await h.createEnvironment(sandboxEnv(AGENT));
    const taskId = await h.createTask(
      task([{ name: 'quality', description: 'The agent wrote a correct report.', evaluationType: 'llm_judge', model: 'claude-sonnet-4-6', files: ['report.json'] }]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 80, passed: true });
    const crit = run.goals[0].criteria[0];
    expect(crit.evidence).toBe('claude-sonnet-4-6 (simlab-judge-1): met, 80/100\n- report.json has the version\n- notes say done');
    expect(crit.details.judge).toEqual({
      model: 'claude-sonnet-4-6',
      promptVersion: 'simlab-judge-1',
      raw: { score: 80, passed: true, reasons: ['report.json has the version', 'notes say done'] },
      asks: 3,
      usage: { inputTokens: 3400, outputTokens: 180 },
      passed: true,
    });
    expect(fake.requests).toHaveLength(3);
    const [first, , third] = fake.requests;
    expect(first!.path).toBe('/v1/messages');
    expect(first!.headers.authorization).toBe('Bearer sk-ant-test-key');
    expect(first!.body).toMatchObject({
      model: 'claude-sonnet-4-6',
      tool_choice: { type: 'tool', name: 'record_verdict' },
      tools: [{ name: 'record_verdict', input_schema: { required: ['score', 'passed', 'reasons'], properties: { score: { maximum: 100 } } } }],
    });
    const prompt = first!.body.messages[0].content as string;
    expect(prompt).toContain('<rubric>\nThe agent wrote a correct report.\n</rubric>');
    expect(prompt).toContain('<task>\nWrite hello into hello.txt\n</task>');
    expect(prompt).toContain('the agent finished');
    expect(prompt).toContain('<file path="report.json">\n{"name":"simlab","version":2,"tags":["a"]}\n</file>');
    // The re-asks carry the conversation and say what was wrong.
    expect(third!.body.messages).toHaveLength(5);
    expect(JSON.stringify(third!.body.messages[4])).toContain('Invalid verdict: /score must be <= 100');
    expect(JSON.stringify(fake.requests[1]!.body.messages[2])).toContain('did not call record_verdict');
  });

  it('makes the criterion an error, never a 0, when the judge API keeps failing; the run is an evaluation failure', async () => {
    fake.requests.length = 0;
    fake.script([], { status: 500, body: { type: 'error', error: { type: 'api_error', message: 'overloaded' } } });
    const envId = await h.createEnvironment(sandboxEnv(AGENT));
    const taskId = await h.createTask(
      task([
        { name: 'report', evaluationType: 'file_content_match', path: 'report.json', pattern: 'simlab' },
        { name: 'quality', description: 'The agent wrote a correct report.', evaluationType: 'llm_judge' },
      ]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!, undefined, 180_000);
    expect(run).toMatchObject({ status: 'failed', score: null, passed: null, failure: { category: 'evaluation' } });
    expect(run.goals[0].criteria[0]).toMatchObject({ status: 'evaluated', score: 100 });
    expect(run.goals[1].criteria[0]).toMatchObject({ status: 'error', score: null, evidence: expect.stringContaining('HTTP 500') });
    // One ask, retried by the SDK: 1 + maxRetries requests.
    expect(fake.requests).toHaveLength(3);
  }, 180_000);

  it('gives identical results for the same post-run sandbox evaluated twice', async () => {
    const input: TaskInput = task(
      criteria([
        { evaluationType: 'file_content_match', path: 'notes.txt', pattern: 'status' },
        { evaluationType: 'json_schema', path: 'report.json', schema: { type: 'object', required: ['name'] } },
        { evaluationType: 'python_script', maxScore: 10, script: 'print(\'{"score": 7}\')' },
        { evaluationType: 'script_judge', script: '#!/bin/sh\ngrep -q done notes.txt' },
        { evaluationType: 'bash_command', command: 'wc -c < blob.bin' },
        { evaluationType: 'file_exists', path: 'link.txt' },
        { evaluationType: 'comparison', metric: 'agent_exit_code', operator: 'eq', value: 0 },
      ]),
    ) as TaskInput;
    const def = normalizeTask(input);
    const env = normalizeEnvironment(sandboxEnv('true') as never);
    const runId = newId('run');
    const sandbox = await h.sandboxes.create(
      { runId, iterationId: 'iter_x', organizationId: h.org.organizationId, hostId: h.hostId, deploymentId: h.deploymentId },
      { image: env.image, resources: env.resources, network: env.network, env: {} },
    );
    try {
      await sandbox.writeFiles('/tmp', [{ name: '.simlab', type: 'directory', mode: 0o755, owner: 'root' }]);
      const setup = await sandbox.exec(shellArgv(AGENT), { timeoutSeconds: 30 });
      expect(setup.exitCode).toBe(0);
      const run = { id: runId, iterationId: 'iter_x', organizationId: h.org.organizationId, productId: 'p', taskId: 't', environmentId: 'e', status: 'evaluating' as const, cancelRequestedAt: null, task: def, environment: env };
      const metrics = { agentExitCode: 0, agentDurationMs: 1000, runDurationMs: 5000, inputTokens: null, outputTokens: null, costUsd: null, agentTurns: null, toolCalls: null };
      const verdicts: unknown[] = [];
      for (let i = 0; i < 2; i++) {
        await evaluateRun({ sandbox, run, metrics, secretEnv: {}, signal: new AbortController().signal, onProgress: () => {} }, async (v) => {
          verdicts.push(JSON.parse(JSON.stringify(v.goals, (k, val) => (k === 'durationMs' ? undefined : val))));
        });
      }
      expect(verdicts[1]).toEqual(verdicts[0]);
      expect((verdicts[0] as any)[0].criteria.map((c: any) => c.score)).toEqual([100, 100, 7, 100, 100, 100, 100]);
    } finally {
      await h.sandboxes.destroy({ runId });
    }
  });
});
