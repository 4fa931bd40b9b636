/**
 * Realistic starting states on the real services: zip uploads (checked, uploaded by the
 * CLI), git checkouts (public and private, from a git server of the test's own), secrets
 * (encrypted, injected, never stored in any form), task–environment links,
 * `create --file`, retiring, and snapshots that stay frozen.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ZipFile } from 'yazl';
import { Client as PgClient } from 'pg';
import { startHarness, task, type Harness } from './harness';
import { SANDBOX_IMAGE, testEnv } from './env';
import { startGitServer, type GitServer } from './gitServer';
import { cliFor } from './cli';

let h: Harness;
let git: GitServer;
let privateGit: GitServer;
let dir: string;
const TOKEN = 'ghp_canaryTOKEN0123456789abcdefXYZ';
const simlab = cliFor(
  () => h,
  () => dir,
  () => ({ SIMLAB_PRODUCT: h.org.productSlug }),
);

beforeAll(async () => {
  h = await startHarness();
  git = await startGitServer();
  privateGit = await startGitServer({ user: 'x-access-token', token: TOKEN });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-setup-'));
});
afterAll(async () => {
  await h?.close();
  await git?.close();
  await privateGit?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name, { mode: name.endsWith('.sh') ? 0o100755 : 0o100644 });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}

const bookworm = (name: string, command: string, extra: Record<string, unknown> = {}) =>
  h.createEnvironment({ name, image: SANDBOX_IMAGE, agent: { harness: 'command', command }, resources: { cpus: 1, memoryMb: 512, pids: 256 }, ...extra });

const criteriaOf = (run: any) => run.goals.flatMap((g: any) => g.criteria.map((c: any) => [c.name, c.score]));

describe('zip init files', () => {
  it('starts agents from a half-finished project: one fixes it, one leaves it, exact scores', async () => {
    fs.writeFileSync(
      path.join(dir, 'project.zip'),
      await zipOf({
        'app/calc.py': 'def add(a, b):\n    return a - b\n',
        'app/README.md': '# calc\nadd() is broken\n',
        'app/run.sh': '#!/bin/sh\npython3 -c "import calc; print(calc.add(2, 3))"\n',
      }),
    );
    const taskFile = path.join(dir, 'task.json');
    fs.writeFileSync(
      taskFile,
      JSON.stringify(
        task(
          [
            {
              name: 'fixed',
              criteria: [
                { name: 'adds', evaluationType: 'python_script', script: 'import sys\nsys.path.insert(0, "app")\nfrom calc import add\nsys.exit(0 if add(2, 3) == 5 else 1)' },
                { name: 'readme kept', evaluationType: 'file_exists', path: 'app/README.md' },
                { name: 'uses +', evaluationType: 'file_content_match', path: 'app/calc.py', pattern: 'a + b', match: 'literal' },
              ],
            },
            { name: 'owned by the agent, executable kept', evaluationType: 'bash_command', command: 'test "$(stat -c %u app/calc.py)" = 1000 && test -x app/run.sh && cd app && test "$(sh run.sh)" = 5 -o "$(sh run.sh)" = -1' },
          ],
          { initFiles: [{ type: 'zip', source: 'project.zip' }] },
        ),
      ),
    );
    const fixer = await bookworm('fixer', "sed -i 's/a - b/a + b/' app/calc.py");
    const idle = await bookworm('idle', 'true');
    const created = await simlab('task', 'create', '--file', taskFile, '--environment-id', `${fixer},${idle}`, '--format', 'json');
    expect(created).toMatchObject({ code: 0 });
    const t = JSON.parse(created.out);
    // The stored task names the upload, pinned by content.
    expect(t.definition.initFiles[0]).toEqual({ type: 'zip', source: expect.stringMatching(/^upload:upl_/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(t.uploads).toEqual([expect.objectContaining({ name: 'project.zip', bytes: fs.statSync(path.join(dir, 'project.zip')).size, sha256: t.definition.initFiles[0].sha256, entries: 3 })]);
    expect(t.environmentIds).toEqual([fixer, idle]);
    // Without --environment-id, the task's linked environments run.
    const res = await h.api('POST', `/tasks/${t.id}/runs`, {});
    expect(res.status).toBe(202);
    const runs = await Promise.all((res.body.runIds as string[]).map((id) => h.waitForRun(id)));
    const byEnv = Object.fromEntries(runs.map((r) => [r.environmentId, r]));
    expect(criteriaOf(byEnv[fixer])).toEqual([['adds', 100], ['readme kept', 100], ['uses +', 100], ['owned by the agent, executable kept', 100]]);
    expect(byEnv[fixer]).toMatchObject({ status: 'completed', score: 100, passed: true });
    expect(criteriaOf(byEnv[idle])).toEqual([['adds', 0], ['readme kept', 100], ['uses +', 0], ['owned by the agent, executable kept', 100]]);
    expect(byEnv[idle]).toMatchObject({ status: 'completed', passed: false });
    expect(byEnv[idle].goals[0].score).toBe(33.33);
    expect(byEnv[idle].score).toBe(66.67);
  });

  it('refuses an unsafe archive at upload, naming the entry, and keeps nothing', async () => {
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from('x'), 'ok.txt');
    zip.end();
    const good = await new Promise<Buffer>((resolve) => {
      const c: Buffer[] = [];
      zip.outputStream.on('data', (d: Buffer) => c.push(d)).on('end', () => resolve(Buffer.concat(c)));
    });
    // The same archive with its entry renamed to escape: same length, so offsets hold.
    const evil = Buffer.from(good.toString('latin1').split('ok.txt').join('../a.x'), 'latin1');
    const before = await h.prisma.upload.count({ where: { organizationId: h.org.organizationId } });
    const res = await fetch(`${h.baseUrl}/v1/uploads?name=evil.zip`, { method: 'POST', headers: { authorization: `Bearer ${h.org.apiKey}`, 'content-type': 'application/zip' }, body: evil });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'unsafe_archive', message: expect.stringContaining("'../a.x'") });
    expect(body.error.message).toContain('evil.zip');
    expect(await h.prisma.upload.count({ where: { organizationId: h.org.organizationId } })).toBe(before);
  });
});

describe('git init files', () => {
  it('checks out a public repository at a branch, a tag and a commit, with no network in the sandbox', async () => {
    const { commits } = await git.createRepo('lib.git', { 'VERSION': 'main\n' }, { branches: { dev: { VERSION: 'dev\n' } }, tags: { 'v1.0': { VERSION: 'v1.0\n' } } });
    const env = await bookworm('reader', 'cat lib/VERSION > seen.txt; git -C lib rev-parse HEAD >> seen.txt');
    const cases: [string, string][] = [
      ['dev', 'dev'],
      ['v1.0', 'v1.0'],
      [commits[0]!, 'main'],
    ];
    for (const [ref, expected] of cases) {
      const taskId = await h.createTask(
        task([{ name: 'version', evaluationType: 'bash_command', command: `head -1 seen.txt | grep -qx '${expected}' && ! grep -rq x-access-token lib/.git/config` }], {
          initFiles: [{ type: 'git', url: git.url('lib.git'), ref }],
        }),
      );
      const [runId] = await h.runTask(taskId, [env]);
      const run = await h.waitForRun(runId!);
      expect([ref, run.status, run.score]).toEqual([ref, 'completed', 100]);
    }
  });

  it('clones a private repository through a secret that never reaches the sandbox; a wrong ref or token fails as setup without the token', async () => {
    await privateGit.createRepo('secret-app.git', { 'app.txt': 'private\n' });
    const env = await bookworm('private-reader', 'cat secret-app/app.txt > seen.txt; env > env.txt; cat secret-app/.git/config > gitconfig.txt');
    expect((await simlab('secret', 'set', 'GIT_TOKEN', '--value-from-env', 'CANARY', '--environment-id', env)).code).toBe(2); // CANARY unset
    const put = await h.api('PUT', '/secrets/GIT_TOKEN', { value: TOKEN, environmentId: env });
    expect(put.status).toBe(201);
    const taskId = await h.createTask(
      task(
        [
          { name: 'cloned', evaluationType: 'bash_command', command: 'grep -qx private seen.txt' },
          // (The token itself is not written into the task: the task is stored and shown.)
          { name: 'no token in the agent env or git config', evaluationType: 'bash_command', command: '! grep -q "^GIT_TOKEN=" env.txt && ! grep -qiE "authorization|extraheader|x-access-token|@127" gitconfig.txt' },
        ],
        { initFiles: [{ type: 'git', url: privateGit.url('secret-app.git'), secretRef: 'GIT_TOKEN' }] },
      ),
    );
    const [runId] = await h.runTask(taskId, [env]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100 });

    const badRef = await h.createTask(task([{ name: 'x', evaluationType: 'file_exists', path: 'x' }], { initFiles: [{ type: 'git', url: privateGit.url('secret-app.git'), ref: 'nope', secretRef: 'GIT_TOKEN' }] }));
    const [badRefRun] = await h.runTask(badRef, [env]);
    const r1 = await h.waitForRun(badRefRun!);
    expect(r1).toMatchObject({ status: 'failed', failure: { category: 'setup', message: expect.stringContaining("'nope'") } });

    await h.api('PUT', '/secrets/GIT_TOKEN', { value: 'ghp_wrongTOKEN_000000000000', environmentId: env });
    const [badTokenRun] = await h.runTask(taskId, [env]);
    const r2 = await h.waitForRun(badTokenRun!);
    expect(r2).toMatchObject({ status: 'failed', failure: { category: 'setup' } });
    for (const r of [r1, r2]) {
      expect(JSON.stringify(r)).not.toContain(TOKEN);
      expect(JSON.stringify(r)).not.toContain('ghp_wrongTOKEN');
    }
    // A missing secret fails the run as setup before any sandbox exists, naming it.
    await h.api('DELETE', `/secrets/GIT_TOKEN?environmentId=${env}`);
    const [missingRun] = await h.runTask(taskId, [env]);
    const r3 = await h.waitForRun(missingRun!);
    expect(r3).toMatchObject({ status: 'failed', failure: { category: 'setup', message: expect.stringContaining('GIT_TOKEN') } });
    expect(r3.statusHistory.map((s: any) => s.to)).toEqual(['queued', 'failed']);
  });
});

describe('secrets', () => {
  it('never stores a secret in any form: database, artifacts, archive, API answers, Temporal history', async () => {
    const value = `canary-${Math.random().toString(36).slice(2)}-value/with+chars=`;
    const forms = [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url'), encodeURIComponent(value)];
    const set = await simlab('secret', 'set', 'CANARY_KEY', '--value-from-env', 'CANARY_SOURCE');
    expect(set.code).toBe(2);
    const ok = await cliFor(() => h, () => dir, () => ({ CANARY_SOURCE: value }))('secret', 'set', 'CANARY_KEY', '--value-from-env', 'CANARY_SOURCE', '--format', 'json');
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain(value);
    const list = await simlab('secret', 'list', '--format', 'json');
    expect(JSON.parse(list.out)).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'CANARY_KEY', scope: 'organization', environmentId: null })]));
    expect(list.out).not.toContain(value);

    const agent = [
      'echo "plain: $CANARY_KEY"',
      'printf %s "$CANARY_KEY" | base64 -w0; echo',
      'printf %s "$CANARY_KEY" | base64 -w0 | tr "+/" "-_" | tr -d "="; echo',
      'python3 -c "import os, urllib.parse; print(urllib.parse.quote(os.environ[\'CANARY_KEY\'], safe=\'\'))"',
      'echo "$CANARY_KEY" > leaked.txt',
      'printf %s "$CANARY_KEY" | base64 -w0 > leaked.b64',
    ].join('; ');
    const env = await bookworm('leaky', agent);
    const taskId = await h.createTask(
      task(
        [
          { name: 'init saw it', evaluationType: 'bash_command', command: 'test -s init.txt && cat init.txt' },
          { name: 'criteria see it too', evaluationType: 'bash_command', command: 'echo "criterion: $CANARY_KEY"; test -n "$CANARY_KEY"' },
          { name: 'script sees it', evaluationType: 'python_script', script: 'import os\nprint(os.environ["CANARY_KEY"])' },
        ],
        { secrets: ['CANARY_KEY'], initCommands: [{ command: 'echo "$CANARY_KEY" | wc -c > init.txt; echo "init: $CANARY_KEY"' }] },
      ),
    );
    const [runId] = await h.runTask(taskId, [env]);
    const run = await h.waitForRun(runId!);
    expect(run).toMatchObject({ status: 'completed', score: 100 });
    // The agent printed it in every form: the stored output shows the markers instead.
    expect(run.agent.outputExcerpt).toContain('plain: [secret:CANARY_KEY]');
    expect(run.agent.outputExcerpt.split('[secret:CANARY_KEY]').length - 1).toBe(4);
    expect(run.goals[1].criteria[0].evidence).toContain('criterion: [secret:CANARY_KEY]');

    const stored: [string, string][] = [];
    stored.push(['run get', JSON.stringify(run)]);
    stored.push(['task get', JSON.stringify((await h.api('GET', `/tasks/${taskId}`)).body)]);
    stored.push(['agent log', (await h.download(run.artifacts.agentLog.url)).body.toString('latin1')]);
    const archive = (await h.download(run.artifacts.archive.url)).body;
    stored.push(['archive', execFileSync('tar', ['-xzO'], { input: archive }).toString('latin1')]);
    const history = await h.client.workflow.getHandle(`simlab-run-${runId}`).fetchHistory();
    stored.push(['temporal history', JSON.stringify(history)]);
    const iterHistory = await h.client.workflow.getHandle(`simlab-iteration-${run.iterationId}`).fetchHistory();
    stored.push(['iteration history', JSON.stringify(iterHistory)]);
    for (const f of walk(h.artifactsDir)) stored.push([`artifact ${f}`, fs.readFileSync(f).toString('latin1')]);
    stored.push(['database', await dumpDatabase()]);
    for (const [where, text] of stored) {
      for (const form of forms) expect([where, form, text.includes(form)]).toEqual([where, form, false]);
    }
    // The file the agent wrote is in the archive, masked.
    expect(stored.find(([w]) => w === 'archive')![1]).toContain('[secret:CANARY_KEY]');
  }, 180_000);
});

describe('links, create --file, lifecycle, frozen snapshots', () => {
  it('runs only linked, enabled environments, and refuses when there are none', async () => {
    const a = await h.createEnvironment({ name: 'linked-a' });
    const b = await h.createEnvironment({ name: 'linked-b' });
    await h.createEnvironment({ name: 'not-linked' });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'hello.txt' }]));
    const none = await h.api('POST', `/tasks/${taskId}/runs`, {});
    expect(none).toMatchObject({ status: 409, body: { error: { code: 'no_environments', message: expect.stringContaining('task env add') } } });
    expect((await simlab('task', 'env', 'add', taskId, a)).code).toBe(0);
    expect((await simlab('task', 'env', 'add', taskId, b)).code).toBe(0);
    expect((await simlab('env', 'disable', b)).code).toBe(0);
    const got = JSON.parse((await simlab('task', 'get', taskId, '--format', 'json')).out);
    expect(got.environmentIds).toEqual([a, b]);
    const res = await h.api('POST', `/tasks/${taskId}/runs`, {});
    const runs = await Promise.all((res.body.runIds as string[]).map((id) => h.waitForRun(id)));
    expect(runs.map((r) => r.environmentId)).toEqual([a]);
    expect((await simlab('task', 'env', 'remove', taskId, a)).code).toBe(0);
    expect((await h.api('POST', `/tasks/${taskId}/runs`, {})).status).toBe(409);
    expect((await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: [] })).status).toBe(400);
  });

  it('creates a task, its links and its secrets from simulation.json in one step, or nothing', async () => {
    const env = await h.createEnvironment({ name: 'sim-env' });
    const file = path.join(dir, 'simulation.json');
    const doc = {
      product: h.org.productSlug,
      environmentIds: [env],
      task: task([{ name: 'g', evaluationType: 'bash_command', command: 'test "$SIM_TOKEN" = "sim-secret-value"' }], { name: 'From simulation', secrets: ['SIM_TOKEN'] }),
      secrets: [{ name: 'SIM_TOKEN', valueFromEnv: 'SIM_TOKEN_VALUE' }],
    };
    fs.writeFileSync(file, JSON.stringify(doc, null, 2));
    const count = () => h.prisma.task.count({ where: { organizationId: h.org.organizationId, name: 'From simulation' } });
    const unset = await simlab('create', '--file', file);
    expect(unset.code).toBe(2);
    expect(unset.err).toMatch(/simulation\.json:\d+:\d+: \/secrets\/0\/valueFromEnv: environment variable SIM_TOKEN_VALUE is not set/);
    expect(await count()).toBe(0);
    const created = await cliFor(() => h, () => dir, () => ({ SIM_TOKEN_VALUE: 'sim-secret-value' }))('create', '--file', file, '--format', 'json');
    expect(created.code).toBe(0);
    const out = JSON.parse(created.out);
    expect(out).toMatchObject({ task: { name: 'From simulation', environmentIds: [env] }, secrets: ['SIM_TOKEN'] });
    expect(await count()).toBe(1);
    const res = await h.api('POST', `/tasks/${out.task.id}/runs`, {});
    const [run] = await Promise.all((res.body.runIds as string[]).map((id) => h.waitForRun(id)));
    expect(run).toMatchObject({ status: 'completed', score: 100 });
  });

  it('keeps a run exactly as it was when its task, environment, upload and secret change or go', async () => {
    const env = await h.createEnvironment({ name: 'frozen-env' });
    const taskId = await h.createTask(task([{ name: 'g', evaluationType: 'file_exists', path: 'hello.txt' }], { name: 'Frozen' }));
    const [runId] = await h.runTask(taskId, [env]);
    await h.waitForRun(runId!);
    const before = (await h.api('GET', `/runs/${runId}`)).body;

    expect((await simlab('task', 'update', taskId, '--name', 'Renamed')).code).toBe(0);
    const envFile = path.join(dir, 'env2.json');
    fs.writeFileSync(envFile, JSON.stringify({ name: 'frozen-env-v2', image: 'simlab/busybox:test', agent: { harness: 'command', command: 'true' } }));
    const upd = JSON.parse((await simlab('env', 'update', env, '--file', envFile, '--format', 'json')).out);
    expect(upd).toMatchObject({ version: 2, name: 'frozen-env-v2' });
    expect((await simlab('task', 'delete', taskId)).code).toBe(0);
    expect((await simlab('env', 'delete', env)).code).toBe(0);

    const after = (await h.api('GET', `/runs/${runId}`)).body;
    expect({ ...after, taskName: undefined, environmentName: undefined }).toEqual({ ...before, taskName: undefined, environmentName: undefined });
    // Retired reads as retired, not as missing; gone from lists and new runs.
    expect((await h.api('GET', `/tasks/${taskId}`)).body).toMatchObject({ retired: true, name: 'Renamed' });
    expect((await h.api('GET', `/environments/${env}`)).body).toMatchObject({ retired: true });
    expect(JSON.parse((await simlab('task', 'list', '--format', 'json')).out).map((t: any) => t.id)).not.toContain(taskId);
    expect((await h.api('POST', `/tasks/${taskId}/runs`, { environmentIds: [env] })).status).toBe(409);
    // The database itself refuses to rewrite what a run used.
    const pg = new PgClient({ connectionString: testEnv().databaseUrl });
    await pg.connect();
    try {
      await expect(pg.query(`UPDATE "Run" SET "taskSnapshotHash" = 'other' WHERE id = $1`, [runId])).rejects.toThrow(/frozen/);
      await expect(pg.query(`UPDATE "Run" SET "environmentVersion" = 99 WHERE id = $1`, [runId])).rejects.toThrow(/frozen/);
    } finally {
      await pg.end();
    }
  });
});

function walk(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
}

/** Every byte of the database, as pg_dump writes it (or every table's rows where pg_dump is missing). */
async function dumpDatabase(): Promise<string> {
  const url = testEnv().databaseUrl;
  const installed = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin/pg_dump`) : [];
  for (const bin of [...installed, 'pg_dump']) {
    try {
      return execFileSync(bin, ['--data-only', url], { maxBuffer: 512 * 1024 * 1024 }).toString('latin1');
    } catch {
      // try the next one
    }
  }
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  try {
    const tables = await pg.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    const parts = [];
    for (const t of tables.rows) parts.push(JSON.stringify((await pg.query(`SELECT * FROM "${t.tablename}"`)).rows));
    return parts.join('\n');
  } finally {
    await pg.end();
  }
}
