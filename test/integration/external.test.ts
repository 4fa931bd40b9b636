/**
 * The external harness end to end on real Temporal, Docker and PostgreSQL, driven through
 * the client library as a user's agent would drive it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Simlab, ApiError } from '../../client/simlab';
import { startHarness, task, type Harness } from './harness';
import { TEST_IMAGE } from './env';
import { externalWriteFile } from '../../workflows/external';

jest.setTimeout(180_000);

let h: Harness;
let simlab: Simlab;
beforeAll(async () => {
  h = await startHarness();
  simlab = new Simlab({ apiUrl: h.baseUrl, apiKey: h.org.apiKey, product: h.org.productSlug });
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  // However it ended, an external run leaves no sandbox behind.
  expect(await h.sandboxesLeft()).toEqual([]);
});

const externalEnv = (idleTimeoutSeconds: number) =>
  h.createEnvironment({ name: 'ext', image: TEST_IMAGE, agent: { harness: 'external', idleTimeoutSeconds } });

const answerGoals = [
  {
    name: 'the answer is written',
    scoringMethod: 'weighted_average',
    passingThreshold: 100,
    criteria: [
      { name: 'file exists', evaluationType: 'file_exists', path: 'answer.txt' },
      { name: 'it is 42', evaluationType: 'bash_command', command: 'grep -qx 42 answer.txt' },
    ],
  },
];

async function rejected(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the request to be refused');
}

describe('an external run', () => {
  it('is driven by its client: exec, files, scoreAndComplete, logs, all as updates in the history', async () => {
    const envId = await externalEnv(120);
    const taskId = await h.createTask(task(answerGoals));
    const run = await simlab.runs.start({ taskId, environmentId: envId });

    const ready = await run.awaitEnvReady({ timeoutMs: 60_000 });
    expect(ready.status).toBe('running');

    const out = await run.devbox.cmd.exec('echo out; echo err >&2; pwd; id -u; exit 3');
    expect(out).toMatchObject({ exitCode: 3, stdout: 'out\n/home/agent\n1000\n', stderr: 'err\n', timedOut: false, truncated: false });
    expect(await run.devbox.cmd.exec('true')).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });

    expect(await run.devbox.file.write('answer.txt', '42\n')).toEqual({ path: '/home/agent/answer.txt', bytes: 3 });
    expect(await run.devbox.file.write('deep/er/notes.md', 'é\n')).toEqual({ path: '/home/agent/deep/er/notes.md', bytes: 3 });
    expect(await run.devbox.file.read('answer.txt')).toBe('42\n');
    expect(await run.devbox.file.read('/home/agent/deep/er/notes.md')).toBe('é\n');
    expect((await run.devbox.cmd.exec('cat answer.txt')).stdout).toBe('42\n');

    // Refusals say why, with a status a client can act on.
    const missing = await rejected(run.devbox.file.read('nope.txt'));
    expect([missing.status, missing.message]).toEqual([404, '/home/agent/nope.txt does not exist']);
    const big = await rejected(run.devbox.file.write('big.bin', Buffer.alloc(1024 * 1024 + 1)));
    expect(big.status).toBe(413);
    expect(big.message).toBe('the content is 1048577 bytes: at most 1048576 bytes (1 MiB) may be written at once');
    // The validator refuses it too (a client calling the update directly): nothing reaches the history.
    const direct = await rejected(
      h.client.workflow
        .getHandle(`simlab-run-${run.id}`)
        .executeUpdate(externalWriteFile, { args: [{ path: 'big.bin', contentBase64: Buffer.alloc(1024 * 1024 + 1).toString('base64') }] })
        .catch((err) => {
          throw new ApiError(409, 'x', err.cause?.message ?? String(err));
        }),
    );
    expect(direct.message).toContain('1048577 bytes');

    const early = await rejected(run.complete());
    expect([early.status, early.code]).toEqual([409, 'not_accepted']);
    expect(early.message).toContain('score it first');

    const state = await run.getState();
    expect(state).toMatchObject({ status: 'running', ready: true, scored: false, ended: false, external: true, idleTimeoutSeconds: 120 });

    const done = await run.scoreAndComplete({ timeoutMs: 60_000 });
    expect(done).toMatchObject({ id: run.id, status: 'completed', score: 100, passed: true });
    expect(done.statusHistory).toEqual(
      ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'].map((to) => expect.objectContaining({ to })),
    );
    const score = await run.getScore();
    expect(score).toMatchObject({
      score: 100,
      passed: true,
      goals: [{ name: 'the answer is written', score: 100, passed: true, criteria: [expect.objectContaining({ name: 'file exists', passed: true }), expect.objectContaining({ name: 'it is 42', passed: true })] }],
    });

    // After the end, nothing more is accepted.
    const late = await rejected(run.devbox.cmd.exec('true'));
    expect([late.status, late.code]).toEqual([409, 'run_finished']);

    // The transcript has the client's commands and their results (stdout and stderr).
    const events = (await h.api('GET', `/runs/${run.id}/events?limit=1000`)).body.items as { type: string; data: any }[];
    const call = events.find((e) => e.type === 'tool_call' && e.data.name === 'bash' && String(e.data.input.command).startsWith('echo out'));
    expect(call).toBeDefined();
    expect(events.find((e) => e.type === 'tool_result' && e.data.id === call!.data.id)?.data).toMatchObject({ exitCode: 3, isError: true, output: 'out\n/home/agent\n1000\nerr\n' });
    expect(events.some((e) => e.type === 'tool_call' && e.data.name === 'write_file' && e.data.input.path === '/home/agent/answer.txt')).toBe(true);

    // Every request went through the workflow as an update, recorded in its history.
    const history = await h.client.workflow.getHandle(`simlab-run-${run.id}`).fetchHistory();
    const accepted = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).map((e) => e.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.name);
    const completed = history.events!.filter((e) => e.workflowExecutionUpdateCompletedEventAttributes);
    expect(accepted).toEqual([
      'external.exec',
      'external.exec',
      'external.writeFile',
      'external.writeFile',
      'external.readFile',
      'external.readFile',
      'external.exec',
      'external.readFile',
      'external.score',
      'external.complete',
    ]);
    expect(completed).toHaveLength(accepted.length);

    // The logs: archive of the home, transcript, in one zip.
    const zipPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simlab-logs-')), 'logs.zip');
    const { entries } = await run.downloadLogs(zipPath);
    expect(entries).toEqual([`${run.id}/home.tar.gz`, `${run.id}/transcript.jsonl`]);
    const listing = execFileSync('unzip', ['-l', zipPath], { encoding: 'utf8' });
    expect(listing).toContain(`${run.id}/home.tar.gz`);
    expect(listing).toContain(`${run.id}/transcript.jsonl`);
    const transcript = execFileSync('unzip', ['-p', zipPath, `${run.id}/transcript.jsonl`], { encoding: 'utf8' });
    expect(transcript).toContain('echo out');
    const home = execFileSync('unzip', ['-p', zipPath, `${run.id}/home.tar.gz`]);
    expect(execFileSync('tar', ['-tz'], { input: home, encoding: 'utf8' })).toMatch(/answer\.txt/);
    fs.rmSync(path.dirname(zipPath), { recursive: true, force: true });
  });

  it('is cancelled by its client: run cancelled, sandbox destroyed', async () => {
    const envId = await externalEnv(120);
    const taskId = await h.createTask(task(answerGoals));
    const run = await simlab.runs.start({ taskId, environmentId: envId });
    await run.awaitEnvReady({ timeoutMs: 60_000 });
    expect((await run.devbox.cmd.exec('echo hi > answer.txt')).exitCode).toBe(0);
    // At most two requests at once (the host's slots are shared): a third is refused, not queued.
    const slow = [run.devbox.cmd.exec('sleep 2'), run.devbox.cmd.exec('sleep 2')];
    await new Promise((r) => setTimeout(r, 800));
    const busy = await rejected(run.devbox.cmd.exec('echo third'));
    expect([busy.status, busy.message]).toEqual([409, expect.stringContaining('2 requests in progress')]);
    await Promise.all(slow);
    // At the limit exactly is fine, and comes back whole; larger output is cut to its end.
    // (Here, not in the history test above: a MiB is kept several times in the history.)
    await run.devbox.file.write('max.bin', Buffer.alloc(1024 * 1024, 7));
    expect((await run.devbox.file.readBytes('max.bin')).equals(Buffer.alloc(1024 * 1024, 7))).toBe(true);
    const tooBig = await rejected(run.devbox.cmd.exec('head -c 1048577 /dev/zero > big.bin').then(() => run.devbox.file.read('big.bin')));
    expect([tooBig.status, tooBig.message]).toEqual([413, expect.stringContaining('/home/agent/big.bin is 1048577 bytes: read-file returns at most 1048576 bytes (1 MiB)')]);
    const huge = await run.devbox.cmd.exec('head -c 2000000 /dev/zero | tr "\\0" x; echo done >&2');
    expect(huge).toMatchObject({ exitCode: 0, truncated: true, stderr: 'done\n' });
    expect(huge.stdout.length).toBeLessThanOrEqual(1024 * 1024);

    const ended = await run.cancel();
    expect(ended).toMatchObject({ status: 'cancelled', failure: { category: 'cancelled', message: 'cancelled by the client' }, score: null });
    expect(await h.sandboxesLeft()).toEqual([]);
    const again = await rejected(run.cancel());
    expect(again.status).toBe(409);
  });

  it('ends cancelled when its client stays idle too long', async () => {
    const envId = await externalEnv(5);
    const taskId = await h.createTask(task(answerGoals));
    const run = await simlab.runs.start({ taskId, environmentId: envId });
    await run.awaitEnvReady({ timeoutMs: 60_000 });
    // A request restarts the idle clock.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await run.devbox.cmd.exec('true')).exitCode).toBe(0);

    const ended = await h.waitForRun(run.id, undefined, 60_000);
    expect(ended).toMatchObject({ status: 'cancelled', failure: { category: 'cancelled', message: 'idle for more than 5s: no request from the client' } });
    expect(await h.sandboxesLeft()).toEqual([]);
    const late = await rejected(run.awaitScored({ timeoutMs: 5_000 }));
    expect(late.message).toContain('idle for more than 5s');
  });

  it('is cleaned up when its workflow is cancelled (run cancel) while it waits for the client', async () => {
    const envId = await externalEnv(120);
    const taskId = await h.createTask(task(answerGoals));
    const run = await simlab.runs.start({ taskId, environmentId: envId });
    await run.awaitEnvReady({ timeoutMs: 60_000 });
    expect((await h.api('POST', `/runs/${run.id}/cancel`)).status).toBe(202);
    const ended = await h.waitForRun(run.id, undefined, 60_000);
    expect(ended).toMatchObject({ status: 'cancelled', failure: { category: 'cancelled' } });
    expect(await h.sandboxesLeft()).toEqual([]);
  });
});
