/** Runs end to end on real Temporal, Docker and PostgreSQL: every way a run can end. */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { startHarness, task, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  // Every scenario, however it ended, must leave no sandbox behind.
  expect(await h.sandboxesLeft()).toEqual([]);
});

const helloGoals = [
  {
    name: 'hello.txt is written',
    scoringMethod: 'weighted_average',
    passingThreshold: 100,
    criteria: [
      { name: 'file exists', evaluationType: 'file_exists', path: 'hello.txt' },
      { name: 'content is hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt && cat hello.txt' },
    ],
  },
];

describe('a run', () => {
  it('passes: every status in order, scores, evidence, transcript, archive, Temporal link', async () => {
    const envId = await h.createEnvironment({
      agent: { harness: 'command', command: 'echo hello > hello.txt; echo wrote hello; cat "$SIMLAB_PROMPT_FILE"; echo; echo "$SIMLAB_PROMPT"' },
    });
    const taskId = await h.createTask(task(helloGoals));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);

    expect(run).toMatchObject({ id: runId, status: 'completed', score: 100, passed: true, verdict: 'passed', failure: null });
    expect(run.statusHistory.map((s: { to: string }) => s.to)).toEqual([
      'queued',
      'creating_sandbox',
      'running',
      'evaluating',
      'analyzing',
      'completed',
    ]);
    const times = run.statusHistory.map((s: { at: string }) => Date.parse(s.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(run.goals).toEqual([
      expect.objectContaining({
        name: 'hello.txt is written',
        score: 100,
        passed: true,
        criteria: [
          expect.objectContaining({ name: 'file exists', evaluationType: 'file_exists', score: 100, passed: true, evidence: expect.stringContaining('hello.txt') }),
          expect.objectContaining({ name: 'content is hello', evaluationType: 'bash_command', score: 100, passed: true, evidence: expect.stringContaining('hello') }),
        ],
      }),
    ]);
    expect(run.agent).toMatchObject({ exitCode: 0, timedOut: false });
    // The agent's output is kept, and it was given the instruction both ways.
    expect(run.agent.outputExcerpt).toBe('wrote hello\nWrite hello into hello.txt\nWrite hello into hello.txt\n');
    expect(run.temporal.url).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/simlab-run-${runId}`);
    expect(run.snapshots.task.goals[0].criteria).toHaveLength(2);

    // The archive is the agent's home, as the agent left it, read through the API from the
    // artifact store; no host path is shown.
    expect(run.artifacts.archive).toEqual({ url: `/v1/runs/${runId}/artifacts/archive`, bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(run)).not.toContain(h.artifactsDir);
    const archive = await h.download(run.artifacts.archive.url);
    expect(archive.status).toBe(200);
    expect(archive.body.length).toBe(run.artifacts.archive.bytes);
    expect(createHash('sha256').update(archive.body).digest('hex')).toBe(run.artifacts.archive.sha256);
    const listing = execFileSync('tar', ['-tz'], { input: archive.body, encoding: 'utf8' });
    expect(listing).toMatch(/agent\/hello\.txt/);
    // simlab's own files (prompt, log) are not part of the agent's home.
    expect(listing).not.toMatch(/\.simlab/);
    // The workflow reports to its iteration after the run's last status is written.
    const handle = h.client.workflow.getHandle(`simlab-run-${runId}`);
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('fails a criterion: scored, not passed, still completed', async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: 'echo goodbye > hello.txt; exit 3' } });
    const taskId = await h.createTask(task(helloGoals));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 50, passed: false, verdict: 'failed' });
    expect(run.agent.exitCode).toBe(3);
    const [fileCrit, contentCrit] = run.goals[0].criteria;
    expect(fileCrit).toMatchObject({ passed: true, score: 100 });
    expect(contentCrit).toMatchObject({ passed: false, score: 0, evidence: expect.stringContaining('exit 1 (expected 0)') });
  });

  it('fails setup when an init command fails: run failed (setup), later commands not run, sandbox gone', async () => {
    const envId = await h.createEnvironment();
    const taskId = await h.createTask(
      task(helloGoals, {
        initCommands: [
          { command: 'mkdir -p work && echo seeded > work/seed.txt' },
          { command: 'test -f seed.txt && { echo "missing.txt not found" >&2; exit 7; }', workingDirectory: '/home/agent/work' },
          { command: 'touch never.txt' },
        ],
      }),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'failed', score: null, passed: null, verdict: null });
    expect(run.failure.category).toBe('setup');
    expect(run.failure.message).toMatch(/init command 2 .* exited with 7: missing.txt not found/);
    expect(run.goals).toEqual([]);
    expect(run.statusHistory.map((s: { to: string }) => s.to)).toEqual(['queued', 'creating_sandbox', 'failed']);
  });

  it('runs init commands in order in their working directory before the agent', async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: 'cat work/order.txt > seen.txt' } });
    const taskId = await h.createTask(
      task([{ name: 'order', evaluationType: 'bash_command', command: 'test "$(cat seen.txt | tr "\\n" " ")" = "one two "' }], {
        initCommands: [
          { command: 'mkdir work' },
          { command: 'echo one >> order.txt', workingDirectory: '/home/agent/work' },
          { command: 'echo two >> work/order.txt', timeoutSeconds: 30 },
        ],
      }),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100, passed: true });
  });

  it('stops an agent that exceeds its time limit, then evaluates what it left', async () => {
    const envId = await h.createEnvironment({
      agent: { harness: 'command', command: 'echo started > hello.txt; sleep 600 & sleep 600', timeoutMinutes: 0.05 },
    });
    const taskId = await h.createTask(task([{ name: 'started', evaluationType: 'file_exists', path: 'hello.txt' }]));
    const started = Date.now();
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100, passed: true, failure: { category: 'agent' } });
    expect(run.agent.timedOut).toBe(true);
    expect(run.agent.durationMs).toBeGreaterThanOrEqual(3000);
    expect(run.statusHistory.find((s: { to: string }) => s.to === 'evaluating').detail).toMatch(/timed out after 3s/);
    // Bounded by the 3 s limit, not by the agent's 600 s sleep.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('is cancelled mid-run: status cancelled, sandbox gone', async () => {
    const envId = await h.createEnvironment({ agent: { harness: 'command', command: 'touch partial.txt; sleep 600' } });
    const taskId = await h.createTask(task(helloGoals));
    const [runId] = await h.runTask(taskId, [envId]);
    await h.waitForRun(runId!, (s) => s === 'running');
    // Give the agent time to start inside the sandbox.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await h.sandboxesLeft()).length).toBe(1);
    const res = await h.api('POST', `/runs/${runId}/cancel`, {});
    expect(res.status).toBe(202);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'cancelled', failure: { category: 'cancelled' } });
    expect(run.statusHistory.map((s: { to: string }) => s.to)).toEqual(['queued', 'creating_sandbox', 'running', 'cancelled']);
    // Nothing is lost: the archive of what the agent had done was still taken.
    const archive = await h.download(run.artifacts.archive.url);
    expect(execFileSync('tar', ['-tz'], { input: archive.body, encoding: 'utf8' })).toMatch(/agent\/partial\.txt/);
    expect((await h.api('POST', `/runs/${runId}/cancel`, {})).status).toBe(409);
  });

  it('reports a metric the harness cannot provide as not evaluated, never as a silent pass or fail', async () => {
    const envId = await h.createEnvironment();
    const taskId = await h.createTask(
      task([
        { name: 'file', evaluationType: 'file_exists', path: 'hello.txt' },
        { name: 'cheap', evaluationType: 'comparison', metric: 'total_tokens', operator: 'lt', value: 1000 },
      ]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100, passed: null, verdict: 'incomplete' });
    expect(run.goals[1]).toMatchObject({ score: null, passed: null });
    expect(run.goals[1].criteria[0]).toMatchObject({ status: 'not_evaluated', evidence: expect.stringContaining('total_tokens is not known') });
  });

  it('fails as evaluation, keeping the other results, when a judge criterion has no model to ask', async () => {
    const envId = await h.createEnvironment();
    const taskId = await h.createTask(
      task([
        { name: 'file', evaluationType: 'file_exists', path: 'hello.txt' },
        { name: 'judge', description: 'Did the agent write hello?', evaluationType: 'llm_judge', model: 'claude-sonnet-4-6' },
      ]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'failed', score: null, passed: null, failure: { category: 'evaluation', message: expect.stringContaining('no judge model is configured') } });
    expect(run.goals[0].criteria[0]).toMatchObject({ status: 'evaluated', score: 100 });
    expect(run.goals[1].criteria[0]).toMatchObject({ status: 'error', score: null, evidence: expect.stringContaining('ANTHROPIC_API_KEY') });
    expect(run.statusHistory.map((s: { to: string }) => s.to)).toEqual(['queued', 'creating_sandbox', 'running', 'evaluating', 'failed']);
  });

  it("ends what the agent left running before evaluating, but not the task's own services", async () => {
    const envId = await h.createEnvironment({
      agent: { harness: 'command', command: '(sleep 2; echo late > late.txt) & echo hello > hello.txt' },
    });
    const taskId = await h.createTask(
      task(
        [
          { name: 'nothing the agent started changes the sandbox', evaluationType: 'bash_command', command: 'sleep 3; test ! -e late.txt' },
          {
            name: 'the service from setup still runs',
            evaluationType: 'bash_command',
            command: 'a=$(cat svc.txt); sleep 2; b=$(cat svc.txt); test "$a" != "$b"',
          },
        ],
        { initCommands: [{ command: "(sh -c 'i=0; while :; do i=$((i+1)); echo $i > svc.txt; sleep 0.5; done' >/dev/null 2>&1 &)" }] },
      ),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run.goals.map((g: { passed: boolean }) => g.passed)).toEqual([true, true]);
    expect(run).toMatchObject({ status: 'completed', passed: true });
  });

  it("ignores an agent's edits of simlab's own files: its background processes still end", async () => {
    // Before the fix the process list lived in a file the agent owned: appending every
    // pid to it kept the agent's background process alive through evaluation.
    const envId = await h.createEnvironment({
      agent: {
        harness: 'command',
        command: [
          'seq 1 99999 >> /tmp/.simlab/pids.before 2>/dev/null',
          'rm -f /tmp/.simlab/pids.before 2>/dev/null',
          'echo tampered > /tmp/.simlab/prompt.md 2>/dev/null',
          '(sleep 2; echo late > late.txt) &',
          'echo hello > hello.txt',
        ].join('; '),
      },
    });
    const taskId = await h.createTask(
      task([
        { name: 'the background process was ended', evaluationType: 'bash_command', command: 'sleep 3; test ! -e late.txt' },
        { name: 'the prompt is intact', evaluationType: 'bash_command', command: 'grep -qx "Write hello into hello.txt" /tmp/.simlab/prompt.md' },
      ]),
    );
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run.goals.map((g: { passed: boolean }) => g.passed)).toEqual([true, true]);
  });

  it('sets the task and environment search attributes on the run workflow', async () => {
    const envId = await h.createEnvironment();
    const taskId = await h.createTask(task(helloGoals));
    const [runId] = await h.runTask(taskId, [envId]);
    await h.waitForRun(runId!);
    // The database has the final status a moment before the workflow upserts it and closes.
    const handle = h.client.workflow.getHandle(`simlab-run-${runId}`);
    await handle.result();
    const d = await handle.describe();
    const sa = Object.fromEntries(d.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(sa).toMatchObject({
      SimlabTask: taskId,
      SimlabEnvironment: envId,
      SimlabOrganization: h.org.organizationId,
      SimlabProduct: h.org.productId,
      SimlabRunStatus: 'completed',
    });
    expect(sa.SimlabIteration).toEqual(expect.stringMatching(/^iter_/));
  });

  it('cancels a whole iteration: running runs clean up, queued ones end cancelled', async () => {
    // The harness allows 4 runs in flight, so the 5th and 6th wait in the queue.
    const envIds = [];
    for (let i = 0; i < 6; i++) envIds.push(await h.createEnvironment({ name: `slow-${i}`, agent: { harness: 'command', command: 'sleep 600' } }));
    const taskId = await h.createTask(task(helloGoals));
    const res = await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: envIds });
    const runIds = res.body.runIds as string[];
    const deadline = Date.now() + 60_000;
    let running: string[] = [];
    while (running.length < 4 && Date.now() < deadline) {
      const list = await h.api('GET', `/products/${h.org.productSlug}/runs?iterationId=${res.body.iterationId}&status=running`);
      running = list.body.items.map((r: { id: string }) => r.id);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(running).toHaveLength(4);
    const queued = runIds.filter((id) => !running.includes(id));
    // A queued run can be cancelled on its own: it never gets a sandbox.
    const one = await h.api('POST', `/runs/${queued[0]}/cancel`, {});
    expect(one).toMatchObject({ status: 200, body: { status: 'cancelled' } });

    expect((await h.api('POST', `/iterations/${res.body.iterationId}/cancel`, {})).status).toBe(202);
    const runs = await Promise.all(runIds.map((id) => h.waitForRun(id)));
    expect(runs.map((r) => r.status)).toEqual(runIds.map(() => 'cancelled'));
    expect(runs.find((r) => r.id === queued[1]).statusHistory.map((s: { to: string }) => s.to)).toEqual(['queued', 'cancelled']);
    expect(await h.client.workflow.getHandle(res.body.workflowId).result()).toBe('cancelled');
    const it = await h.api('GET', `/iterations/${res.body.iterationId}`);
    expect(it.body.status).toBe('cancelled');
    expect((await h.api('POST', `/iterations/${res.body.iterationId}/cancel`, {})).status).toBe(409);
  });

  it('fails as setup when the environment image does not exist', async () => {
    const envId = await h.createEnvironment({ image: 'simlab/does-not-exist:1' });
    const taskId = await h.createTask(task(helloGoals));
    const [runId] = await h.runTask(taskId, [envId]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'failed', failure: { category: 'setup', message: expect.stringContaining('simlab/does-not-exist:1') } });
  });

  it('runs one task on several environments as one iteration', async () => {
    const good = await h.createEnvironment({ name: 'good' });
    const bad = await h.createEnvironment({ name: 'bad', agent: { harness: 'command', command: 'true' } });
    const taskId = await h.createTask(task(helloGoals));
    const res = await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: [good, bad] });
    expect(res.status).toBe(202);
    const runs = await Promise.all((res.body.runIds as string[]).map((id) => h.waitForRun(id)));
    expect(runs.map((r) => [r.environmentId, r.passed]).sort()).toEqual([[bad, false], [good, true]].sort());
    const handle = h.client.workflow.getHandle(res.body.workflowId);
    expect(await handle.result()).toBe('completed');
    const it = await h.api('GET', `/iterations/${res.body.iterationId}`);
    expect(it.body).toMatchObject({ status: 'completed', runCount: 2, summary: { byStatus: { completed: 2 }, passed: 1, meanScore: 50 } });
  });
});
