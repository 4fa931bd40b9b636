/** The API and CLI contract: validation that writes nothing, organization isolation, the CLI grammar. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createOrganization } from '../../api/tenancy';
import { startHarness, task, type Harness } from './harness';
import { cliFor } from './cli';

const fixtures = path.join(__dirname, '..', 'fixtures');
let h: Harness;
let configDir: string;

beforeAll(async () => {
  h = await startHarness();
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-cli-'));
});
afterAll(async () => {
  await h?.close();
  fs.rmSync(configDir, { recursive: true, force: true });
});

const simlab = cliFor(() => h, () => configDir);

describe('task validation', () => {
  it('answers 400 with every violation by JSON pointer, and writes nothing', async () => {
    const before = await h.prisma.task.count();
    const doc = JSON.parse(fs.readFileSync(path.join(fixtures, 'invalid-task.json'), 'utf8'));
    const res = await h.api('POST', `/products/${h.org.productSlug}/tasks`, doc);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { pointer: string }) => d.pointer)).toEqual([
      '/category',
      '/goals/0/command',
      '/goals/0/passingThreshold',
      '/goals/0/weight',
      '/goals/1',
      '/initCommands/0/command',
      '/name',
      '/product',
    ]);
    expect(await h.prisma.task.count()).toBe(before);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await fetch(`${h.baseUrl}/v1/products/${h.org.productSlug}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.org.apiKey}`, 'content-type': 'application/json' },
      body: '{"name": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('keeps a task unchanged when an update is invalid, and versions a valid one', async () => {
    const id = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }]));
    const bad = await h.api('PATCH', `/tasks/${id}`, { definition: { name: 'x', goals: [] } });
    expect(bad.status).toBe(400);
    expect((await h.api('GET', `/tasks/${id}`)).body).toMatchObject({ name: 'Write hello', version: 1 });
    const renamed = await h.api('PATCH', `/tasks/${id}`, { name: 'Write hello v2' });
    expect(renamed.body).toMatchObject({ name: 'Write hello v2', version: 2 });
    expect(renamed.body.definition.name).toBe('Write hello v2');
  });
});

describe('tenancy', () => {
  it("does not let one organization's key see another's objects", async () => {
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }]));
    const envId = await h.createEnvironment();
    const other = await createOrganization(h.prisma, { slug: `other-${Date.now()}`, name: 'Other' });
    for (const p of [`/tasks/${taskId}`, `/environments/${envId}`, `/products/${h.org.productId}/tasks`]) {
      const res = await h.api('GET', p, undefined, other.apiKey);
      expect([p, res.status, res.body.error.code]).toEqual([p, 404, 'not_found']);
    }
    expect((await h.api('POST', `/tasks/${taskId}/runs`, {}, other.apiKey)).status).toBe(404);
    expect((await h.api('PATCH', `/tasks/${taskId}`, { name: 'stolen' }, other.apiKey)).status).toBe(404);
    // Its own product lists only its own tasks.
    const own = await h.api('GET', `/products/${other.productSlug}/tasks`, undefined, other.apiKey);
    expect(own.body.items).toEqual([]);
    expect((await h.api('GET', `/tasks/${taskId}`)).body.name).toBe('Write hello');
  });

  it('refuses requests without a valid key', async () => {
    const none = await fetch(`${h.baseUrl}/v1/products`);
    expect(none.status).toBe(401);
    expect((await h.api('GET', '/products', undefined, 'sk_not_a_key')).status).toBe(401);
  });

  it('notes when a key was last used, at most once a minute', async () => {
    const before = await h.prisma.apiKey.findFirstOrThrow({ where: { organizationId: h.org.organizationId } });
    await h.api('GET', '/products');
    // The write is off the request's path.
    let after = before;
    for (let i = 0; i < 40 && !after.lastUsedAt; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await h.prisma.apiKey.findFirstOrThrow({ where: { id: before.id } });
    }
    expect(after.lastUsedAt).toBeInstanceOf(Date);
    await h.api('GET', '/products');
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.prisma.apiKey.findFirstOrThrow({ where: { id: before.id } })).lastUsedAt).toEqual(after.lastUsedAt);
  });

  it('manages API keys: create (shown once), list, revoke at once; failed attempts rate-limited', async () => {
    const created = await h.api('POST', '/api-keys', { name: 'ci' });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^slk_[0-9A-Za-z]{36}$/);
    expect((await h.api('GET', '/products', undefined, created.body.key)).status).toBe(200);
    const list = await h.api('GET', '/api-keys');
    expect(list.body.items.map((k: any) => k.name)).toEqual(expect.arrayContaining(['bootstrap', 'ci']));
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect(list.body.items.find((k: any) => k.id === created.body.id)).toMatchObject({ prefix: created.body.key.slice(0, 10), revokedAt: null });
    expect((await h.api('DELETE', `/api-keys/${created.body.id}`)).status).toBe(200);
    expect((await h.api('GET', '/products', undefined, created.body.key)).status).toBe(401);
    // A guesser is cut off; the address recovers after the window (not waited for here).
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++) status = (await h.api('GET', '/products', undefined, `slk_guess${i}`)).status;
    expect(status).toBe(429);
    // …while a good key from the same address still works.
    expect((await h.api('GET', '/products')).status).toBe(200);
  });

  it('stores keys hashed only', async () => {
    const keys = await h.prisma.apiKey.findMany({ where: { organizationId: h.org.organizationId } });
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(keys)).not.toContain(h.org.apiKey);
  });
});

describe('iterations', () => {
  it('numbers concurrent launches distinctly, one after another', async () => {
    const envId = await h.createEnvironment({ name: 'numbering', agent: { harness: 'command', command: 'true' } });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'x' }]));
    const launched = await Promise.all(Array.from({ length: 8 }, () => h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: [envId] })));
    expect(launched.map((r) => r.status)).toEqual(launched.map(() => 202));
    const numbers = launched.map((r) => r.body.number as number).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(8);
    expect(numbers[7]! - numbers[0]!).toBe(7);
    for (const r of launched) {
      const it = await h.api('GET', `/iterations/${r.body.iterationId}`);
      expect(it.body.number).toBe(r.body.number);
    }
    // The database itself refuses a duplicate, whatever the code does.
    const dup = await h.prisma.iteration
      .create({ data: { id: `iter_dup${Date.now()}`, organizationId: h.org.organizationId, productId: h.org.productId, number: numbers[0]!, workflowId: `wf-dup-${Date.now()}`, runCount: 0 } })
      .catch((e: { code?: string }) => e.code);
    expect(dup).toBe('P2002');
    await Promise.all(launched.flatMap((r) => (r.body.runIds as string[]).map((id) => h.waitForRun(id))));
  });

  it('answers iteration get from counts: status, verdicts and mean score, no run list', async () => {
    const good = await h.createEnvironment({ name: 'counts-good' });
    const bad = await h.createEnvironment({ name: 'counts-bad', agent: { harness: 'command', command: 'true' } });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'hello.txt' }]));
    const res = await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: [good, bad] });
    await Promise.all((res.body.runIds as string[]).map((id) => h.waitForRun(id)));
    const it = await h.api('GET', `/iterations/${res.body.iterationId}`);
    expect(it.body).toMatchObject({
      runCount: 2,
      summary: { byStatus: { completed: 2 }, ended: 2, passed: 1, failedVerdicts: 1, meanScore: 50 },
      temporal: { url: expect.stringContaining(`simlab-iteration-${res.body.iterationId}`) },
    });
    expect(it.body.runs).toBeUndefined();
  });
});

describe('CLI', () => {
  it("creates the reference's task.json unchanged, lists, gets and updates it", async () => {
    expect((await simlab('product', 'switch', h.org.productSlug)).code).toBe(0);
    const created = await simlab('task', 'create', '--file', path.join(fixtures, 'reference-task.json'), '--format', 'json');
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    const t = JSON.parse(created.out);
    expect(t).toMatchObject({ name: 'Checkout regression', category: 'coding', version: 1 });
    expect(t.definition.goals[0].criteria[0]).toMatchObject({ evaluationType: 'llm_judge', model: 'claude-sonnet-4-6' });

    const listed = await simlab('task', 'list', '--search', 'checkout');
    expect(listed.out).toMatch(/ID\s+NAME\s+CATEGORY/);
    expect(listed.out).toContain(t.id);
    const got = JSON.parse((await simlab('task', 'get', t.id, '--format', 'json')).out);
    expect(got.id).toBe(t.id);
    const updated = await simlab('task', 'update', t.id, '--name', 'Checkout regression v2');
    expect(updated.out).toContain('version 2');
  });

  it('reports every violation of a task file with file, line and pointer, exits 2 and writes nothing', async () => {
    await simlab('product', 'switch', h.org.productSlug);
    const before = await h.prisma.task.count();
    const file = path.join(fixtures, 'invalid-task.json');
    const res = await simlab('task', 'create', '--file', file);
    expect(res.code).toBe(2);
    expect(res.err).toContain(`${file}: 8 violation(s) of the task contract:`);
    // In file order, so the list reads top to bottom alongside the file.
    expect(res.err.split('\n')[1]).toBe(`${file}:2:3: /name: must not be blank`);
    expect(res.err).toContain(`${file}:3:3: /category: must be one of`);
    expect(res.err).toContain(`${file}:7:5: /goals/0/command: is required`);
    expect(res.err).toContain(`${file}:10:7: /goals/0/weight: must be > 0`);
    const broken = path.join(configDir, 'broken.json');
    fs.writeFileSync(broken, '{\n  "name": "x",\n  "goals": [\n}\n');
    const syntax = await simlab('task', 'create', '--file', broken);
    expect(syntax).toMatchObject({ code: 2 });
    expect(syntax.err).toMatch(new RegExp(`^${broken}:4:1: invalid JSON`));
    expect((await simlab('task', 'create', '--file', '/nonexistent/task.json')).err).toContain('cannot read: ENOENT');
    expect(await h.prisma.task.count()).toBe(before);
  });

  it('creates an environment, runs a task with --watch and shows the run', async () => {
    await simlab('product', 'switch', h.org.productSlug);
    const envFile = path.join(configDir, 'env.json');
    fs.writeFileSync(
      envFile,
      JSON.stringify({ name: 'cli-busybox', image: 'simlab/busybox:test', agent: { harness: 'command', command: 'echo hello > hello.txt' } }),
    );
    const env = JSON.parse((await simlab('env', 'create', '--file', envFile, '--format', 'json')).out);
    expect((await simlab('env', 'list')).out).toContain(env.id);
    const taskFile = path.join(configDir, 'task.json');
    fs.writeFileSync(taskFile, JSON.stringify(task([{ name: 'hello', evaluationType: 'bash_command', command: 'grep -q hello hello.txt' }])));
    const t = JSON.parse((await simlab('task', 'create', '--file', taskFile, '--format', 'json')).out);

    const watched = await simlab('task', 'run', t.id, '--environment-id', env.id, '--watch', '--format', 'json');
    expect(watched.code).toBe(0);
    const result = JSON.parse(watched.out);
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0];
    expect(run).toMatchObject({ status: 'completed', score: 100, passed: true });
    for (const g of run.goals) {
      expect(Object.keys(g)).toEqual(expect.arrayContaining(['name', 'score', 'passed', 'criteria']));
      for (const c of g.criteria) expect(Object.keys(c)).toEqual(expect.arrayContaining(['name', 'evaluationType', 'score', 'passed', 'evidence']));
    }

    const human = await simlab('run', 'get', run.id);
    expect(human.out).toContain(`Run ${run.id}  completed  PASSED`);
    expect(human.out).toMatch(/creating_sandbox/);
    expect(human.out).toContain(`http://127.0.0.1:8233/namespaces/default/workflows/simlab-run-${run.id}`);
    expect(human.out).toMatch(/\[pass\] hello \(bash_command\) 100\/100/);

    const list = JSON.parse((await simlab('run', 'list', '--task-id', t.id, '--status', 'completed', '--format', 'json')).out);
    expect(list.items.map((r: { id: string }) => r.id)).toEqual([run.id]);
    expect((await simlab('run', 'list', '--status', 'bogus')).code).toBe(2);
  });

  it('prints the whole contract with `simlab spec`', async () => {
    const spec = JSON.parse((await simlab('spec')).out);
    expect(Object.keys(spec)).toEqual(['task', 'goal', 'criterion', 'environment', 'experiment', 'simulation', 'signalConfig']);
    expect(spec.signalConfig).toMatchObject({ type: 'object' });
  });

  it('says what is wrong with a command line', async () => {
    expect(await simlab('task', 'frobnicate')).toMatchObject({ code: 2, err: expect.stringContaining("unknown command 'task frobnicate'") });
    expect(await simlab('task', 'create')).toMatchObject({ code: 2, err: expect.stringContaining('--file is required') });
    expect(await simlab('task', 'list', '--bogus', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --bogus') });
    expect(await simlab('task', 'get', 'task_nope')).toMatchObject({ code: 1, err: expect.stringContaining("task 'task_nope' not found") });
    // A bad --format is refused before anything is sent, so nothing is created.
    const before = await h.prisma.task.count();
    const yaml = await simlab('task', 'create', '--file', path.join(fixtures, 'reference-task.json'), '--format', 'yaml');
    expect(yaml).toMatchObject({ code: 2, err: expect.stringContaining('--format must be json or table') });
    expect(await h.prisma.task.count()).toBe(before);
  });

  it('works as the installed `simlab` binary', async () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'simlab');
    const { stdout } = await promisify(execFile)(bin, ['spec'], { env: { ...process.env, SIMLAB_CONFIG: path.join(configDir, 'none.json') } });
    expect(JSON.parse(stdout).task.title).toBe('Task');
  });
});
