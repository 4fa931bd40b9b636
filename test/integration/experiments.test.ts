/**
 * Experiments end to end: tasks x environments x variants x repeats as numbered iterations,
 * variant overrides frozen into each run, reruns of chosen variants, race-free numbering,
 * and the run list's cursor.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startHarness, task, type Harness } from './harness';
import { cliFor, jsonCli } from './cli';
import { createOrganization } from '../../api/tenancy';

let h: Harness;
let dir: string;
const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

beforeAll(async () => {
  h = await startHarness();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-exp-'));
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const json = jsonCli(simlab);

const helloTask = (name: string) =>
  h.createTask(task([{ name: 'says hello', evaluationType: 'bash_command', command: 'grep -qx hello hello.txt' }], { name }));

describe('experiments', () => {
  let exp: any;
  let first: any;

  it('runs every task x environment x variant x repeat, with the variants frozen into the runs', async () => {
    const [t1, t2] = [await helloTask('one'), await helloTask('two')];
    const [e1, e2] = [await h.createEnvironment({ name: 'env-1' }), await h.createEnvironment({ name: 'env-2' })];
    fs.writeFileSync(path.join(dir, 'signals.yaml'), 'signals:\n  - name: hello\n    type: boolean\n    pattern: hello\n');
    exp = await json('experiment', 'create', '--name', 'hello study', '--task-ids', t1, '--env-ids', e1, '--repeats', '2', '--signal-config', path.join(dir, 'signals.yaml'));
    expect(exp).toMatchObject({ id: expect.stringMatching(/^exp_/), repeats: 2, taskIds: [t1], environmentIds: [e1], signalConfig: 'signals:\n  - name: hello\n    type: boolean\n    pattern: hello\n' });
    await json('experiment', 'task', 'add', exp.id, t2);
    exp = await json('experiment', 'env', 'add', exp.id, e2);
    expect(exp.taskIds.sort()).toEqual([t1, t2].sort());
    expect(exp.environmentIds.sort()).toEqual([e1, e2].sort());

    fs.writeFileSync(path.join(dir, 'plain.json'), '{}');
    fs.writeFileSync(path.join(dir, 'loud.json'), JSON.stringify({ agent: { command: 'echo LOUD > hello.txt' }, prompt: 'Shout' }));
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ agent: { comand: 'x', maxTurns: 0 }, colour: 'red' }));
    await json('experiment', 'variant', 'add', exp.id, '--name', 'plain', '--file', path.join(dir, 'plain.json'));
    exp = await json('experiment', 'variant', 'add', exp.id, '--name', 'loud', '--file', path.join(dir, 'loud.json'));
    expect(exp.variants.map((v: any) => v.name)).toEqual(['plain', 'loud']);
    const bad = await simlab('experiment', 'variant', 'add', exp.id, '--name', 'bad', '--file', path.join(dir, 'bad.json'));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('/override/colour');
    expect(bad.err).toContain('/override/agent/comand');
    expect(bad.err).toContain('/override/agent/maxTurns');

    // Followed to the end, as plain lines (not a TTY).
    const run = await simlab('experiment', 'run', exp.id);
    expect(run.out).toMatch(/Queued iteration #1 .*: 16 run\(s\)/);
    const status = await json('experiment', 'run', 'status', exp.id);
    expect(status).toMatchObject({ number: 1, total: 16, counts: { completed: 16 } });
    first = status;

    const runs: any[] = (await json('run', 'list', '--iteration-id', status.id, '--limit', '100')).items;
    expect(runs).toHaveLength(16);
    for (const variant of ['plain', 'loud'])
      for (const repeat of [1, 2]) expect(runs.filter((r) => r.variant === variant && r.repeat === repeat)).toHaveLength(4);
    // The variant's agent command is what ran: its runs fail the hello criterion.
    expect(runs.filter((r) => r.variant === 'plain').every((r) => r.passed === true)).toBe(true);
    expect(runs.filter((r) => r.variant === 'loud').every((r) => r.passed === false)).toBe(true);
    const loud = await json('run', 'get', runs.find((r) => r.variant === 'loud').id);
    expect(loud.snapshots.environment.agent).toMatchObject({ harness: 'command', command: 'echo LOUD > hello.txt' });
    expect(loud.snapshots.task.prompt).toBe('Shout');
    const plain = await json('run', 'get', runs.find((r) => r.variant === 'plain').id);
    expect(plain.snapshots.environment.agent.command).toBe('echo hello > hello.txt');
    expect(plain.snapshots.task.prompt).toBe('Write hello into hello.txt');
  }, 300_000);

  it('reruns chosen variants as a new iteration and leaves the first as it was', async () => {
    const again = await json('experiment', 'run', exp.id, '--variant', 'loud', '--repeats', '1', '--detach');
    expect(again).toMatchObject({ iterationId: expect.any(String), number: 2, runCount: 4 });
    const watched = await simlab('experiment', 'run', 'status', exp.id, '--iteration', '2', '--watch');
    expect(watched.code).toBe(0);
    expect(await json('experiment', 'run', 'status', exp.id, '--iteration', '2')).toMatchObject({ number: 2, total: 4, counts: { completed: 4 } });
    const one = await json('experiment', 'run', 'status', exp.id, '--iteration', '1');
    expect(one).toMatchObject({ id: first.id, number: 1, total: 16, counts: { completed: 16 } });
    const unknown = await simlab('experiment', 'run', exp.id, '--variant', 'nope', '--detach');
    expect(unknown.code).toBe(2);
  }, 300_000);

  it('numbers concurrent triggers distinctly', async () => {
    const t = await helloTask('race');
    const e = await h.createEnvironment({ name: 'race-env' });
    const race = await json('experiment', 'create', '--name', 'race', '--task-ids', t, '--env-ids', e);
    const launched = await Promise.all([0, 1, 2].map(() => h.api('POST', `/experiments/${race.id}/iterations`, {})));
    expect(launched.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(launched.map((r) => r.body.number).sort()).toEqual([1, 2, 3]);
    for (const n of ['1', '2', '3']) await simlab('experiment', 'run', 'status', race.id, '--iteration', n, '--watch');
    // Another organization's experiment does not exist for this one.
    const other = await createOrganization(h.prisma, { slug: `other-${Date.now()}`, name: 'Other' });
    expect((await h.api('GET', `/experiments/${race.id}`, undefined, other.apiKey)).status).toBe(404);
    expect((await h.api('POST', `/experiments/${race.id}/iterations`, {}, other.apiKey)).status).toBe(404);
  }, 300_000);

  it('pages the run list with a cursor: every run exactly once', async () => {
    const all = new Set<string>();
    let pages = 0;
    let cursor: string | null = null;
    do {
      const page: any = await json('run', 'list', '--limit', '5', ...(cursor ? ['--cursor', cursor] : []));
      for (const r of page.items) {
        expect(all.has(r.id)).toBe(false);
        all.add(r.id);
      }
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(all.size).toBe(16 + 4 + 3);
    expect(pages).toBe(5);
    const byEnv = await json('run', 'list', '--environment-id', exp.environmentIds[0], '--limit', '1000');
    expect(byEnv.items).toHaveLength(10);
    expect(byEnv.nextCursor).toBeNull();
    expect((await h.api('GET', `/products/${h.org.productSlug}/runs?cursor=garbage`)).status).toBe(400);
  }, 60_000);
});
