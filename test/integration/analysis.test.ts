/**
 * The analysis on real iterations (real Temporal, Docker, PostgreSQL; the model through the
 * suite's fake Messages API): runs built to fail two distinct ways give two clusters by the
 * deterministic path and by the model path; a regressing iteration is flagged; results of a
 * finished iteration stay byte-identical after later iterations and edits; the signal config
 * is validated with line and column and frozen per iteration. Nothing here computes what
 * the workflows compute: each run is analysed by its run workflow (in its analyzing step),
 * each iteration's results by its iteration workflow with the worker's model, which then
 * starts the regression alert; the activities are called directly only to check that a
 * second call returns what the workflow stored.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { startHarness, task, type Harness } from './harness';
import { cliFor, jsonCli } from './cli';
import { startFakeAnthropic, assistantMessage, toolUse, type FakeAnthropic } from './fakeAnthropic';
import { createAnalysisActivities, type AnalysisActivities } from '../../activities/analysisActivities';
import { AnthropicAnalysisModel } from '../../analysis/model';
import { iterationWorkflowId } from '../../domain/workflowIds';

let h: Harness;
let fake: FakeAnthropic;
let dir: string;
let plain: AnalysisActivities;
let modelled: AnalysisActivities;
const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

const json = jsonCli(simlab);

const activity = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment().run(fn, ...args);

const AUTH = 'echo "Error: HTTP 401 Unauthorized: invalid API key"; exit 3';
const NOFILE = 'cat /home/agent/settings/config.yml';
const HELLO = 'echo hello > hello.txt';

const SIGNALS = `signals:
  - name: exit_code
    type: number
    metric: agent_exit_code
  - name: saw_401
    type: boolean
    pattern: "HTTP 401"
    in: [outputs]
  - name: hello_passed
    type: boolean
    criterion: says hello
  - name: failure
    type: category
    metric: failure_category
`;

async function iterationRuns(iterationId: string): Promise<any[]> {
  return (await json('run', 'list', '--iteration-id', iterationId, '--limit', '100')).items;
}

/** The results the iteration workflow stores once its last run has ended, just before the iteration ends. */
async function storedResults(iterationId: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await h.prisma.iterationResult.findUnique({ where: { iterationId } });
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`no results stored for iteration ${iterationId} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

type Iterated = { iterationId: string; runs: any[]; sha256: string; memoSha256: unknown };

/**
 * Runs an iteration of the experiment to its end (the CLI follows it) and checks what its
 * workflows did on their own: every run analysed by its run workflow before it ended (a
 * completed run in its analyzing step), the results stored by the iteration workflow (its
 * memo names their digest), and a second computation returning them unchanged.
 */
async function iterate(expId: string): Promise<Iterated> {
  const launched = await json('experiment', 'run', expId);
  const iterationId = launched.iterationId as string;
  const stored = await storedResults(iterationId);
  const runs = await iterationRuns(iterationId);
  const ended = await h.prisma.run.findMany({ where: { iterationId }, select: { id: true, status: true, finishedAt: true } });
  const analyses = await h.prisma.runAnalysis.findMany({ where: { iterationId }, select: { runId: true, createdAt: true } });
  expect(analyses.map((a) => a.runId).sort()).toEqual(runs.map((r) => r.id).sort());
  for (const r of ended.filter((x) => x.status === 'completed')) {
    expect([r.id, analyses.find((a) => a.runId === r.id)!.createdAt.getTime() <= r.finishedAt!.getTime()]).toEqual([r.id, true]);
  }
  expect(await activity(plain.computeIterationResults, { iterationId })).toMatchObject({ iterationId, sha256: stored.sha256, computed: false });
  // The iteration workflow ends once its alert has started (a moment after the CLI saw the iteration end).
  const workflow = h.client.workflow.getHandle(iterationWorkflowId(iterationId));
  expect(await workflow.result()).toBe('completed');
  const memo = (await workflow.describe()).memo ?? {};
  return { iterationId, runs, sha256: stored.sha256, memoSha256: memo.resultsSha256 };
}

/** The regression alert the iteration workflow started once its results were stored. */
const alertOf = (iterationId: string) => h.client.workflow.getHandle(`simlab-alert-${iterationId}`).result();

beforeAll(async () => {
  fake = await startFakeAnthropic();
  const model = new AnthropicAnalysisModel({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
  // The harness's workers analyse with the model, as a worker with ANTHROPIC_API_KEY does.
  h = await startHarness({ analysisModel: model });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-analysis-'));
  plain = createAnalysisActivities({ prisma: h.prisma });
  modelled = createAnalysisActivities({ prisma: h.prisma, model });
});
afterAll(async () => {
  await h?.close();
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const helloTask = (name: string) => h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }], { name }));

describe('analysis', () => {
  let exp: any;
  let t1: string;
  let t2: string;
  let eAuth: string;
  let eNofile: string;
  let first: Iterated;
  let firstResultsText: string;

  it('refuses an invalid signal config by line and column, before anything is written', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'signals:\n  - name: saw_401\n    type: number\n    pattern: "HTTP 401"\n');
    const before = await h.prisma.experiment.count({ where: { organizationId: h.org.organizationId } });
    const bad = await simlab('experiment', 'create', '--name', 'bad', '--signal-config', path.join(dir, 'bad.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${path.join(dir, 'bad.yaml')}:3:5: /signals/0/type: must be boolean: measure matched of a pattern is a boolean`);
    // The API says the same to a client that skips the CLI.
    const api = await h.api('POST', `/products/${h.org.productSlug}/experiments`, { name: 'bad', signalConfig: 'signals:\n  - name: x\n    type: boolean\n    metric: nope\n' });
    expect(api.status).toBe(400);
    expect(api.body.error.details[0]).toMatchObject({ pointer: '/signalConfig', line: 4, column: 5, configPointer: '/signals/0/metric' });
    expect(await h.prisma.experiment.count({ where: { organizationId: h.org.organizationId } })).toBe(before);
  });

  it('two distinct failures give two deterministic clusters; signals and friction per run', async () => {
    [t1, t2] = [await helloTask('one'), await helloTask('two')];
    eAuth = await h.createEnvironment({ name: 'auth', agent: { harness: 'command', command: AUTH } });
    eNofile = await h.createEnvironment({ name: 'nofile', agent: { harness: 'command', command: NOFILE } });
    fs.writeFileSync(path.join(dir, 'signals.yaml'), SIGNALS);
    exp = await json('experiment', 'create', '--name', 'friction', '--task-ids', `${t1},${t2}`, '--env-ids', `${eAuth},${eNofile}`, '--repeats', '3', '--signal-config', path.join(dir, 'signals.yaml'));
    // No results before the iteration has them: a 409 that says why, exit 1.
    const early = await simlab('experiment', 'results', exp.id);
    expect(early.code).toBe(1);
    expect(early.err).toContain('results_not_ready');

    first = await iterate(exp.id);
    expect(first.runs).toHaveLength(12);
    expect(first.memoSha256).toBe(first.sha256);
    expect(await activity(plain.computeIterationResults, { iterationId: first.iterationId })).toMatchObject({ iterationId: first.iterationId, clusters: 2, computed: false });
    // The config asks nothing of a model: the workers' model was not called.
    expect(fake.requests).toHaveLength(0);
    // The first iteration has nothing to compare with: the alert it started sent nothing.
    expect(await alertOf(first.iterationId)).toEqual({ sent: false, reason: 'the experiment has no webhook' });

    const authRun = first.runs.find((r) => r.environmentId === eAuth)!;
    const a = await json('analysis', 'get', '--run-id', authRun.id);
    expect(a).toMatchObject({ runId: authRun.id, status: 'analysed', signals: { exit_code: 3, saw_401: true, hello_passed: false, failure: 'none' }, friction: { source: 'deterministic' } });
    expect(a.friction.points.map((p: any) => p.kind)).toEqual(['auth', 'non_zero_exit']);
    expect(a.friction.points[0].seqs.length).toBeGreaterThan(0);
    const human = await simlab('analysis', 'get', '--run-id', authRun.id);
    expect(human.out).toContain('auth: Error: HTTP 401 Unauthorized: invalid API key');

    const res = await simlab('experiment', 'results', exp.id, '--format', 'json');
    expect(res.code).toBe(0);
    firstResultsText = res.out;
    const r = JSON.parse(res.out);
    expect(r.iteration).toBe(1);
    expect(r.summary).toHaveLength(4);
    for (const row of r.summary) {
      expect(row).toMatchObject({ taskId: expect.any(String), environmentId: expect.any(String), variant: 'base', runs: 3, passRate: 0, meanScore: 0, infraFailures: 0 });
      expect(row.passRateCi).toEqual([0, 0.561497]);
    }
    const byEnv = (env: string) => r.clusters.find((c: any) => c.runIds.every((id: string) => first.runs.find((x) => x.id === id)!.environmentId === env));
    const auth = byEnv(eAuth);
    const nofile = byEnv(eNofile);
    expect(auth).toMatchObject({ rootCauseCategory: 'product', name: expect.stringMatching(/^Authentication failures: /), recommendedFix: expect.any(String), rootCause: expect.stringContaining('401') });
    expect(nofile).toMatchObject({ rootCauseCategory: 'environment', name: expect.stringMatching(/^Environment problems: .*no such file or directory/) });
    expect(auth.runIds).toHaveLength(6);
    expect(nofile.runIds).toHaveLength(6);
    expect(r.signals.aggregates.overall.saw_401).toMatchObject({ n: 12, trueCount: 6, rate: 0.5 });
    expect(r.signals.aggregates.byEnvironment[eNofile].exit_code).toMatchObject({ n: 6, mean: 1, min: 1, max: 1 });

    const table = await simlab('experiment', 'results', exp.id);
    expect(table.out).toContain('Failure clusters');
    expect(table.out).toContain(auth.name);
    expect(table.out).toMatch(/PASS RATE\s+95% CI/);

    const drill = await json('experiment', 'results', exp.id, '--error-category', auth.name);
    expect(drill.cluster.name).toBe(auth.name);
    expect(drill.runs).toHaveLength(6);
    expect(drill.runs[0].excerpts[0].text).toContain('HTTP 401');
    const unknown = await simlab('experiment', 'results', exp.id, '--error-category', 'Nothing like this');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('/errorCategory');

    const signals = await json('experiment', 'signals', exp.id);
    expect(signals.runs).toHaveLength(12);
    expect(signals.runs.filter((x: any) => x.signals.saw_401 === true)).toHaveLength(6);
    expect((await simlab('experiment', 'signals', exp.id)).out).toContain('saw_401');
    expect(signals.nextCursor).toBeNull();
    // Per-run values a page at a time: every run once, in the order of the whole list.
    const pages: string[][] = [];
    for (let cursor: string | null = null; pages.length === 0 || cursor; ) {
      const page: any = await json('experiment', 'signals', exp.id, '--limit', '5', ...(cursor ? ['--cursor', cursor] : []));
      expect(page.aggregates).toEqual(signals.aggregates);
      pages.push(page.runs.map((x: any) => x.runId));
      cursor = page.nextCursor;
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(signals.runs.map((x: any) => x.runId));
    expect((await simlab('experiment', 'signals', exp.id, '--limit', '5')).out).toMatch(/\nmore: --cursor \S+$/m);
    for (const [flag, value, pointer] of [['--cursor', 'garbage', '/cursor'], ['--limit', '0', '/limit']]) {
      const refused = await simlab('experiment', 'signals', exp.id, flag!, value!);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(pointer);
    }

    const history = await json('analysis', 'get', '--task-id', t1);
    expect(history.iterations[0]).toMatchObject({ iterationId: first.iterationId, frozen: true, analysedRuns: 6, frictionKinds: { auth: 3, environment: 3 } });
    expect(history.iterations[0].frictionKinds).toEqual({ auth: 3, environment: 3, non_zero_exit: 6 });
    expect(history.iterations[0].clusters).toHaveLength(2);
  }, 300_000);

  it('is computed once: a retry returns what was stored, and the database refuses changes', async () => {
    const stored = await h.prisma.iterationResult.findUniqueOrThrow({ where: { iterationId: first.iterationId } });
    expect(await activity(plain.computeIterationResults, { iterationId: first.iterationId })).toMatchObject({ sha256: stored.sha256, computed: false });
    expect(await activity(modelled.analyzeRun, { runId: first.runs[0].id })).toMatchObject({ status: 'analysed' });
    await expect(h.prisma.iterationResult.update({ where: { iterationId: first.iterationId }, data: { document: '{}' } })).rejects.toThrow(/written once/);
    await expect(h.prisma.runAnalysis.update({ where: { runId: first.runs[0].id }, data: { status: 'x' } })).rejects.toThrow(/written once/);
  });

  it('the model path: rubric answers, clusters from a model (re-asked when malformed), the config frozen per iteration', async () => {
    const bad = path.join(dir, 'bad-update.yaml');
    fs.writeFileSync(bad, 'clusterModel: yes please\n');
    const refused = await simlab('experiment', 'update', exp.id, '--signal-config', bad);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(`${bad}:1:1: /clusterModel: must be boolean`);
    fs.writeFileSync(path.join(dir, 'model.yaml'), `${SIGNALS}  - name: gave_up\n    type: boolean\n    question: Did the agent give up?\nclusterModel: true\nmodel: claude-test\n`);
    await json('experiment', 'update', exp.id, '--signal-config', path.join(dir, 'model.yaml'));

    const clusters = (ids: string[][]) => assistantMessage([toolUse('record_clusters', {
      clusters: [
        { name: 'API key rejected', rootCauseCategory: 'product', rootCause: 'The deploy API rejects the key.', recommendedFix: 'Document key scopes.', runIds: ids[0] },
        { name: 'Config file missing', rootCauseCategory: 'environment', rootCause: 'settings/config.yml is absent.', recommendedFix: 'Add it to the image.', runIds: ids[1] },
      ],
    })]);
    // The workers' model answers: every rubric question, and the clustering, whose run ids
    // exist only once the iteration is launched, so they are read from the request itself.
    let clusterAsks = 0;
    fake.respond((body) => {
      const tool = body?.tool_choice?.name;
      if (tool === 'record_answer') return { body: assistantMessage([toolUse('record_answer', { answer: true, reason: 'it stopped after one error' })]) };
      if (tool !== 'record_clusters') return undefined;
      const byEnv = new Map<string, string[]>();
      for (const m of String(body.messages[0].content).matchAll(/^run (\S+) \(task \S+, environment ([^,)]+)/gm)) byEnv.set(m[2]!, [...(byEnv.get(m[2]!) ?? []), m[1]!]);
      const [auth, file] = [[...(byEnv.get(eAuth) ?? [])].sort(), [...(byEnv.get(eNofile) ?? [])].sort()];
      // The first answer leaves a run out: re-asked with what was wrong.
      return { body: clusters([++clusterAsks === 1 ? auth.slice(1) : auth, file]) };
    });
    const second = await iterate(exp.id);
    fake.respond(null);
    expect(second.memoSha256).toBe(second.sha256);
    // 12 rubric answers while the runs were analysed, then the clustering asked twice.
    expect(fake.requests).toHaveLength(14);
    expect(fake.requests.slice(0, 12).map((r) => r.body.tool_choice.name)).toEqual(Array(12).fill('record_answer'));
    expect(fake.requests[0]!.body).toMatchObject({ model: 'claude-test', tool_choice: { type: 'tool', name: 'record_answer' } });
    expect(fake.requests.slice(12).map((r) => r.body)).toEqual([
      expect.objectContaining({ model: 'claude-test', tool_choice: { type: 'tool', name: 'record_clusters' } }),
      expect.objectContaining({ model: 'claude-test', tool_choice: { type: 'tool', name: 'record_clusters' } }),
    ]);
    const authIds = second.runs.filter((r) => r.environmentId === eAuth).map((r) => r.id).sort();
    const fileIds = second.runs.filter((r) => r.environmentId === eNofile).map((r) => r.id);
    expect(authIds).toHaveLength(6);
    expect(fileIds).toHaveLength(6);
    expect(JSON.stringify(fake.requests[13]!.body.messages)).toContain(`runs in no cluster: ${authIds[0]}`);
    expect(await activity(modelled.computeIterationResults, { iterationId: second.iterationId })).toMatchObject({ clusters: 2, computed: false, sha256: second.sha256 });

    const r = await json('experiment', 'results', exp.id, '--iteration', '2', '--compare', '1');
    expect(r.analysis).toMatchObject({ clusterSource: 'model', model: 'claude-test' });
    expect(r.clusters.map((c: any) => [c.name, c.rootCauseCategory, c.runIds.length])).toEqual([['API key rejected', 'product', 6], ['Config file missing', 'environment', 6]]);
    expect(r.signals.aggregates.overall.gave_up).toMatchObject({ n: 12, rate: 1 });
    // 0/3 against 0/3 in every cell: nothing to tell, and said so.
    expect(r.comparison.rows).toHaveLength(4);
    for (const row of r.comparison.rows) expect(row).toMatchObject({ passRateDelta: 0, significant: false, verdict: 'insufficient_data', direction: 'unchanged' });
    expect(r.comparison.clusters.new).toEqual(['API key rejected', 'Config file missing']);
    // Iteration 1 froze the config it was launched with: no question there.
    const one = await json('experiment', 'signals', exp.id, '--iteration', '1');
    expect(one.definitions.map((d: any) => d.name)).not.toContain('gave_up');
  }, 300_000);

  it('flags a significant regression between two iterations', async () => {
    const t = await helloTask('flip');
    const env = await h.createEnvironment({ name: 'flip', agent: { harness: 'command', command: HELLO } });
    const flip = await json('experiment', 'create', '--name', 'flip', '--task-ids', t, '--env-ids', env, '--repeats', '6');
    const good = await iterate(flip.id);
    const patched = await h.api('PATCH', `/environments/${env}`, { definition: { name: 'flip', image: 'simlab/busybox:test', agent: { harness: 'command', command: AUTH }, resources: { cpus: 0.5, memoryMb: 128, pids: 64 } } });
    expect(patched.status).toBe(200);
    const bad = await iterate(flip.id);
    // The iteration workflow started the alert on its own; without a webhook it sends nothing.
    expect(await alertOf(bad.iterationId)).toEqual({ sent: false, reason: 'the experiment has no webhook' });
    const r = await json('experiment', 'results', flip.id, '--compare', '1');
    expect(r.iteration).toBe(2);
    expect(r.comparison.rows).toEqual([
      expect.objectContaining({ taskId: t, environmentId: env, variant: 'base', passRateDelta: -1, scoreDelta: -100, pValue: 0.0021645, significant: true, direction: 'regressed', verdict: 'regressed' }),
    ]);
    expect(r.comparison.clusters.new).toHaveLength(1);
    const human = await simlab('experiment', 'results', flip.id, '--compare', '1');
    expect(human.out).toContain('REGRESSED');
    expect(human.out).toContain('100% -> 0%');
  }, 300_000);

  it("a finished iteration's results are byte-identical after later iterations and edits of the experiment's tasks and environments", async () => {
    await h.api('PATCH', `/tasks/${t1}`, { name: 'renamed' });
    await h.api('PATCH', `/environments/${eAuth}`, { name: 'auth-renamed' });
    expect((await simlab('experiment', 'task', 'remove', exp.id, t2)).code).toBe(0);
    expect((await simlab('experiment', 'env', 'remove', exp.id, eNofile)).code).toBe(0);
    const again = await simlab('experiment', 'results', exp.id, '--iteration', '1', '--format', 'json');
    expect(again.out).toBe(firstResultsText);
  });

  it('bad input is a 4xx naming what is wrong', async () => {
    expect((await h.api('GET', `/experiments/${exp.id}/results?iteration=abc`)).status).toBe(400);
    expect((await h.api('GET', `/experiments/${exp.id}/results?iteration=99`)).status).toBe(404);
    expect((await h.api('GET', `/experiments/exp_nope/results`)).status).toBe(404);
    expect((await h.api('GET', '/runs/run_nope/analysis')).status).toBe(404);
    expect((await h.api('PUT', `/experiments/${exp.id}/signal-config`, { signalConfig: 42 })).status).toBe(400);
    expect((await h.api('PUT', `/experiments/${exp.id}/signal-config`, { signalConfig: 'x: [' })).status).toBe(400);
    const usage = await simlab('analysis', 'get');
    expect(usage.code).toBe(2);
    expect((await simlab('experiment', 'results', exp.id, '--iteration', 'two')).code).toBe(2);
  });
});
