/**
 * Chaos: SIGKILL the real worker process at random points of real runs, start a new
 * one, and check that nothing was lost (every run ends, passed, with its transcript and
 * archive), nothing was done twice (status rows, transcript sequence, the agent itself)
 * and nothing leaked (sandboxes, containers beyond a retried provisioning).
 *
 * Restarts: the Temporal server, PostgreSQL and the Docker engine each stopped mid-iteration
 * and started again (runRestartTrials), on a private stack (bench/chaosStack.ts).
 *
 *   node dist/bench/chaos.js [--trials N] [--restarts R] [--services temporal,postgres,docker]
 *                            [--restart-at running,creating_sandbox,...] [--seed S] [--runs-per-trial K] [--json]
 *                            [--stack-name simlab-chaos --temporal-port 7240 --pg-port 5440]
 *
 * N SIGKILL trials, then R restarts of each service. It starts its own Temporal dev server,
 * PostgreSQL cluster and dockerd (root needed), never the machine's, and removes them at
 * the end; it needs a built dist/ (the worker process runs it).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Harness } from '../test/integration/harness';
import { startWorkerProcess } from '../test/integration/workerProcess';
import { isTerminal, type RunStatus } from '../domain/runLifecycle';
import type { ChaosService, ChaosStack } from './chaosStack';
import { argOf } from './lib/args';

export type KillTarget = 'creating_sandbox' | 'running' | 'evaluating' | 'analyzing' | 'any';
const TARGETS: KillTarget[] = ['creating_sandbox', 'running', 'evaluating', 'analyzing', 'any'];
const LIFECYCLE = ['queued', 'creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'];

export interface ChaosOptions {
  trials: number;
  seed: number;
  harness: Harness;
  /** Concurrent runs per trial: one worker kill then lands on runs at different points. */
  runsPerTrial?: number;
  /** Where the first run of trial i is killed (cycled); default: all of TARGETS from a seeded start. */
  targets?: KillTarget[];
  runTimeoutMs?: number;
  log?: (line: string) => void;
  /** For worker processes: the services of a private stack (bench/chaosStack.ts) instead of the machine's. */
  workerEnv?: Record<string, string>;
}

interface RunPlan {
  initSleep: number | null;
  agentSleep: number;
  evalSleep: number;
  /** A home big enough that archiving takes long enough to be hit. */
  bigHome: boolean;
}

export interface RunResult {
  trial: number;
  /** What hit the run: the worker's SIGKILL, or a restart of one of the services. */
  fault: 'sigkill' | `restart:${ChaosService}`;
  runId: string;
  plan: RunPlan;
  target: KillTarget | null;
  /** The run's status in the database just before the fault. */
  killedIn: string;
  status: string;
  passed: boolean | null;
  failure: { category: string; message: string } | null;
  statusPath: string[];
  containersCreated: number;
  duplicateStatusRows: number;
  seqProblems: string[];
  transcriptOk: boolean;
  transcriptText: string;
  archiveOk: boolean;
  archiveProblem: string | null;
  durationMs: number;
  problems: string[];
}

export interface ChaosReport {
  seed: number;
  trials: number;
  runs: RunResult[];
  killedIn: Record<string, number>;
  endings: Record<string, number>;
  containersPerRun: Record<string, number>;
  containersLeft: number;
  duplicateStatusRows: number;
  seqProblems: number;
  transcriptsBroken: number;
  archivesBroken: number;
  wrongBlame: number;
  problems: string[];
  wallMs: number;
  trialMs: number[];
}

/** mulberry32: small, seedable, good enough to pick kill points reproducibly. */
function rngFrom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo: number, hi: number) => lo + (hi - lo) * next(),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

interface WorkerProc {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Every worker process this process started and that still runs: an interrupted chaos run ends them too. */
const liveWorkers = new Set<ChildProcess>();

async function startWorker(h: Harness, env: Record<string, string> = {}): Promise<WorkerProc> {
  const child = await startWorkerProcess(h, env);
  liveWorkers.add(child);
  child.once('exit', () => liveWorkers.delete(child));
  return { child, exited: new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()))) };
}

function planRun(rng: ReturnType<typeof rngFrom>, target: KillTarget | null): RunPlan {
  return {
    initSleep: target === 'creating_sandbox' ? round1(rng.between(2.5, 4)) : rng.chance(0.4) ? round1(rng.between(1, 3)) : null,
    agentSleep: round1(target === 'running' ? rng.between(2.5, 4) : rng.between(1, 4)),
    evalSleep: target === 'evaluating' ? round1(rng.between(2.5, 4)) : rng.chance(0.3) ? round1(rng.between(1, 2.5)) : 0,
    bigHome: target === 'analyzing' || rng.chance(0.2),
  };
}

function agentCommand(tag: string, p: RunPlan): string {
  return [
    `echo start-${tag}`,
    `sleep ${p.agentSleep}`,
    ...(p.bigHome ? ['head -c 24000000 /dev/urandom > blob.bin'] : []),
    'echo done > out.txt',
    `echo end-${tag}`,
  ].join('; ');
}

async function launch(h: Harness, tag: string, p: RunPlan): Promise<string> {
  const envId = await h.createEnvironment({ name: `chaos-${tag}`, agent: { harness: 'command', command: agentCommand(tag, p) } });
  const taskId = await h.createTask({
    name: `chaos ${tag}`,
    category: 'coding',
    prompt: 'Write done into out.txt',
    goals: [{ name: 'agent finished', evaluationType: 'bash_command', command: `${p.evalSleep ? `sleep ${p.evalSleep}; ` : ''}grep -qx done out.txt` }],
    ...(p.initSleep !== null ? { initCommands: [{ command: `sleep ${p.initSleep}; echo init-${tag}` }] } : {}),
  });
  const [runId] = await h.runTask(taskId, [envId]);
  return runId!;
}

async function statusOf(h: Harness, runId: string): Promise<string> {
  const r = await h.prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
  return r?.status ?? 'missing';
}

/**
 * Waits for the run to reach `target` (or pass it), then a random moment inside that
 * phase, judged from the run's own plan, so that the kill lands where it was meant to.
 */
async function waitForKillPoint(h: Harness, rng: ReturnType<typeof rngFrom>, runId: string, target: KillTarget, p: RunPlan, launchedAt: number) {
  if (target === 'any') {
    await sleep(Math.max(0, launchedAt + rng.between(300, 6000) - Date.now()));
    return;
  }
  const order = LIFECYCLE.indexOf(target);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await statusOf(h, runId);
    const at = LIFECYCLE.indexOf(s);
    if (at >= order || s === 'failed' || s === 'cancelled' || Date.now() > deadline) break;
    await sleep(40);
  }
  const inPhase: Record<string, number> = {
    creating_sandbox: (p.initSleep ?? 0) - 0.8,
    running: p.agentSleep - 0.5,
    evaluating: p.evalSleep - 0.5,
    analyzing: 0,
  };
  const max = inPhase[target] ?? 0;
  if (max > 0.3) await sleep(rng.between(300, max * 1000));
}

/**
 * Docker's record of container creations for this harness's host, by run. Watched live
 * from before the first trial: a `since` query after the fact is answered from Docker's
 * last 256 events only, which a busy engine (other tests, other trials) overruns. When the
 * engine restarts, the stream ends: it is reopened from the last event seen, and an event
 * delivered twice across the gap is counted once.
 */
async function watchContainerCreations(h: Harness) {
  const byRun = new Map<string, number>();
  const seen = new Set<string>();
  let closed = false;
  let current: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  let sinceSec = Math.floor(Date.now() / 1000) - 1;
  const open = async (): Promise<void> => {
    const stream = (await h.docker.getEvents({
      since: sinceSec,
      filters: { type: ['container'], event: ['create'], label: [`simlab.host=${h.hostId}`] },
    } as never)) as unknown as NodeJS.ReadableStream & { destroy?: () => void };
    current = stream;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const e = JSON.parse(line);
        const key = `${e.id}/${e.timeNano}`;
        if (seen.has(key)) continue;
        seen.add(key);
        // Whole seconds: a reopened stream starts at the second of the last event and dedupes the rest.
        sinceSec = Math.max(sinceSec, Math.floor(Number(e.timeNano) / 1e9));
        const runId = e?.Actor?.Attributes?.['simlab.run'];
        if (runId) byRun.set(runId, (byRun.get(runId) ?? 0) + 1);
      }
    });
    let reopened = false;
    const reopen = () => {
      if (closed || reopened) return;
      reopened = true;
      void (async () => {
        while (!closed) {
          try {
            return await open();
          } catch {
            await sleep(300);
          }
        }
      })();
    };
    stream.on('error', reopen);
    stream.on('end', reopen);
    stream.on('close', reopen);
  };
  await open();
  return {
    count: (runId: string) => byRun.get(runId) ?? 0,
    close: () => {
      closed = true;
      current?.destroy?.();
    },
  };
}

/**
 * `infraAllowed`: the fault destroyed the run's sandbox (a Docker engine restart stops
 * its containers), so failing as `infra` is the right ending; the run must then say so
 * and keep what it had: a status path and transcript that are a clean prefix of a
 * passing run's, and any archive it recorded intact.
 */
async function checkRun(h: Harness, runId: string, tag: string, run: any, created: number, infraAllowed = false): Promise<Omit<RunResult, 'trial' | 'plan' | 'target' | 'killedIn' | 'durationMs' | 'fault'>> {
  const problems: string[] = [];
  const statusPath = (run.statusHistory ?? []).map((s: { to: string }) => s.to);
  const dupRows = await h.prisma.runStatusChange.groupBy({ by: ['to'], where: { runId }, _count: { _all: true } });
  const duplicateStatusRows = dupRows.reduce((n, g) => n + Math.max(0, g._count._all - 1), 0);
  const events = await h.prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' }, select: { seq: true, type: true, data: true } });
  const seqProblems: string[] = [];
  events.forEach((e, i) => {
    if (e.seq !== i + 1) seqProblems.push(`event ${i} has seq ${e.seq}`);
  });
  const statusEvents = events.filter((e) => e.type === 'status').map((e) => (e.data as { to: string }).to);
  if (statusEvents.join() !== statusPath.join()) seqProblems.push(`status events ${statusEvents.join('>')} != history ${statusPath.join('>')}`);
  // Exactly once: a duplicated chunk or an agent started a second time would repeat a line.
  const transcriptText = events.filter((e) => e.type === 'command_output').map((e) => (e.data as { text: string }).text).join('');
  const expectedText = `start-${tag}\nend-${tag}\n`;
  const failedAsInfra = infraAllowed && run.status === 'failed' && run.failure?.category === 'infra';
  const transcriptOk = failedAsInfra ? expectedText.startsWith(transcriptText) : transcriptText === expectedText;
  let archiveOk = false;
  let archiveProblem: string | null = null;
  const a = run.artifacts?.archive;
  if (!a) {
    // A sandbox the engine took away may leave nothing to archive; the run must say why.
    if (failedAsInfra && run.artifacts?.archiveNote) archiveOk = true;
    else archiveProblem = `no archive (${run.artifacts?.archiveNote ?? 'no note'})`;
  }
  else {
    const got = await h.download(a.url);
    const sha = createHash('sha256').update(got.body).digest('hex');
    if (got.status !== 200) archiveProblem = `download ${got.status}`;
    else if (sha !== a.sha256) archiveProblem = `sha256 ${sha} != recorded ${a.sha256}`;
    else if (got.body.length !== a.bytes) archiveProblem = `${got.body.length} bytes != recorded ${a.bytes}`;
    else archiveOk = true;
  }
  if (!(run.status === 'completed' && run.passed === true) && !failedAsInfra) problems.push(`ended ${run.status} passed=${run.passed} failure=${JSON.stringify(run.failure)}`);
  const pathOk = failedAsInfra
    ? statusPath.at(-1) === 'failed' && statusPath.slice(0, -1).join() === LIFECYCLE.slice(0, statusPath.length - 1).join()
    : statusPath.join() === LIFECYCLE.join();
  if (!pathOk) problems.push(`status path ${statusPath.join('>')}`);
  if (duplicateStatusRows) problems.push(`${duplicateStatusRows} duplicate status rows`);
  problems.push(...seqProblems);
  if (!transcriptOk) problems.push(`transcript ${JSON.stringify(transcriptText)}`);
  if (archiveProblem) problems.push(`archive: ${archiveProblem}`);
  return {
    runId,
    status: run.status,
    passed: run.passed ?? null,
    failure: run.failure ?? null,
    statusPath,
    containersCreated: created,
    duplicateStatusRows,
    seqProblems,
    transcriptOk,
    transcriptText,
    archiveOk,
    archiveProblem,
    problems,
  };
}

async function sandboxesGone(h: Harness, ms: number): Promise<number> {
  // Cleanup may trail the run's final status by a moment: give it that moment, not more.
  const deadline = Date.now() + ms;
  for (;;) {
    const left = (await h.sandboxesLeft()).length;
    if (left === 0 || Date.now() > deadline) return left;
    await sleep(500);
  }
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const { harness: h, trials, seed } = opts;
  const perTrial = opts.runsPerTrial ?? 1;
  const runTimeout = opts.runTimeoutMs ?? 180_000;
  const log = opts.log ?? (() => undefined);
  const rng = rngFrom(seed);
  const firstTarget = Math.floor(rng.next() * TARGETS.length);
  const results: RunResult[] = [];
  const problems: string[] = [];
  const trialMs: number[] = [];
  const started = Date.now();
  const live: WorkerProc[] = [];
  const containers = await watchContainerCreations(h);
  try {
    for (let t = 0; t < trials; t++) {
      const t0 = Date.now();
      const first = await startWorker(h, opts.workerEnv);
      live.push(first);
      // Cycled from a seeded start rather than drawn: every 5 trials cover every phase.
      const target = opts.targets ? opts.targets[t % opts.targets.length]! : TARGETS[(t + firstTarget) % TARGETS.length]!;
      const plans = Array.from({ length: perTrial }, (_, i) => planRun(rng, i === 0 ? target : null));
      const tags = plans.map((_, i) => `t${t}r${i}s${seed}`);
      const launchedAt = Date.now();
      // Staggered, so the other runs of the trial are somewhere else when the kill comes.
      const runIds: string[] = [];
      for (let i = 0; i < perTrial; i++) {
        runIds.push(await launch(h, tags[i]!, plans[i]!));
        if (i + 1 < perTrial) await sleep(rng.between(200, 1500));
      }
      await waitForKillPoint(h, rng, runIds[0]!, target, plans[0]!, launchedAt);
      const killedIn = await Promise.all(runIds.map((id) => statusOf(h, id)));
      first.child.kill('SIGKILL');
      await first.exited;
      log(`trial ${t}: target ${target}, killed at +${((Date.now() - launchedAt) / 1000).toFixed(1)} s in ${killedIn.join(', ')}`);
      const second = await startWorker(h, opts.workerEnv);
      live.push(second);
      const ended = await Promise.all(
        runIds.map(async (id) => {
          const t1 = Date.now();
          try {
            return { run: await h.waitForRun(id, undefined, runTimeout), ms: Date.now() - t1 };
          } catch (err) {
            return { run: (await h.api('GET', `/runs/${id}`)).body, ms: Date.now() - t1, err: err as Error };
          }
        }),
      );
      second.child.kill('SIGTERM');
      await second.exited;
      for (let i = 0; i < perTrial; i++) {
        const e = ended[i]!;
        const checked = await checkRun(h, runIds[i]!, tags[i]!, e.run, containers.count(runIds[i]!));
        if (e.err) checked.problems.unshift(e.err.message);
        // A provisioning attempt cut short is retried with a new container; one kill explains
        // at most one retry, and every other step must go on in the first container.
        const allowed = killedIn[i] === 'creating_sandbox' ? 2 : 1;
        if (checked.containersCreated < 1 || checked.containersCreated > allowed) {
          checked.problems.push(`${checked.containersCreated} containers created (killed in ${killedIn[i]})`);
        }
        const r: RunResult = { trial: t, fault: 'sigkill', plan: plans[i]!, target: i === 0 ? target : null, killedIn: killedIn[i]!, durationMs: Date.now() - launchedAt, ...checked };
        results.push(r);
        for (const p of r.problems) problems.push(`trial ${t} run ${r.runId} (killed in ${r.killedIn}): ${p}`);
      }
      const left = await sandboxesGone(h, 15_000);
      if (left) problems.push(`trial ${t}: ${left} sandbox(es) left after its runs ended`);
      trialMs.push(Date.now() - t0);
      log(`trial ${t}: ${ended.map((e) => `${e.run.status}${e.run.passed ? '+passed' : ''}`).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    for (const w of live) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    containers.close();
  }
  const containersLeft = (await h.sandboxesLeft()).length;
  if (containersLeft) problems.push(`${containersLeft} sandbox(es) left at the end`);
  return summarize({ seed, trials, results, problems, containersLeft, wallMs: Date.now() - started, trialMs });
}

export interface RestartOptions {
  harness: Harness;
  /** The private stack the harness and the workers use: its services are the ones restarted. */
  stack: ChaosStack;
  /** One trial per entry, in order. */
  kinds: ChaosService[];
  seed: number;
  /** Runs of the iteration each trial launches (one task, one environment per run). */
  runsPerTrial?: number;
  /** Where the first run is when the service goes down, cycled over the trials; default: its agent step. */
  targets?: Exclude<KillTarget, 'any'>[];
  /** How long the service stays down: long enough that callers see it gone, short of the retry budgets. */
  downMs?: number;
  runTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * A worker process kept running as a process supervisor would: restarted when it exits
 * (a worker that cannot reach a restarted service may give up; it must not lose runs
 * when it does). Its restarts are counted, since they say how a restart was survived.
 */
function supervisedWorker(h: Harness, env: Record<string, string>, log: (line: string) => void) {
  let current: WorkerProc | null = null;
  let stopping = false;
  let restarts = 0;
  const loop = (async () => {
    while (!stopping) {
      try {
        current = await startWorker(h, env);
      } catch (err) {
        log(`worker did not start: ${(err as Error).message.split('\n')[0]}`);
        await sleep(1000);
        continue;
      }
      await current.exited;
      if (stopping) break;
      restarts++;
      log(`worker exited (${current.child.exitCode ?? current.child.signalCode}); restarting it`);
      await sleep(500);
    }
  })();
  return {
    get restarts() {
      return restarts;
    },
    ready: async () => {
      while (!current) await sleep(100);
    },
    async stop() {
      stopping = true;
      const w = current;
      if (w && w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        await Promise.race([w.exited, sleep(30_000)]);
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      }
      await loop;
    },
  };
}

/** The run as the API shows it once it ended, through outages of the API's own database. */
async function waitEnded(h: Harness, runId: string, timeoutMs: number): Promise<{ run: any; err?: Error }> {
  const deadline = Date.now() + timeoutMs;
  let last: any = { status: 'unknown' };
  for (;;) {
    try {
      const res = await h.api('GET', `/runs/${runId}`);
      if (res.status === 200) {
        last = res.body;
        if (isTerminal(res.body.status as RunStatus)) return { run: last };
      }
    } catch {
      // The API is down with its database: keep asking.
    }
    if (Date.now() > deadline) return { run: last, err: new Error(`run ${runId} still ${last.status} after ${timeoutMs} ms`) };
    await sleep(400);
  }
}

/** One iteration of several runs: one task (the first plan's set-up and evaluation), one environment per run. */
async function launchIteration(h: Harness, tags: string[], plans: RunPlan[]): Promise<string[]> {
  const p0 = plans[0]!;
  const envIds: string[] = [];
  for (let i = 0; i < plans.length; i++) {
    envIds.push(await h.createEnvironment({ name: `chaos-${tags[i]}`, agent: { harness: 'command', command: agentCommand(tags[i]!, plans[i]!) } }));
  }
  const taskId = await h.createTask({
    name: `chaos ${tags[0]}`,
    category: 'coding',
    prompt: 'Write done into out.txt',
    goals: [{ name: 'agent finished', evaluationType: 'bash_command', command: `${p0.evalSleep ? `sleep ${p0.evalSleep}; ` : ''}grep -qx done out.txt` }],
    ...(p0.initSleep !== null ? { initCommands: [{ command: `sleep ${p0.initSleep}; echo init` }] } : {}),
  });
  return h.runTask(taskId, envIds);
}

/**
 * Restarts of the services themselves, mid-iteration: the Temporal server, PostgreSQL and
 * the Docker engine of a private stack, each stopped while an iteration's first run has
 * its agent working, kept down for `downMs`, and started again.
 */
export async function runRestartTrials(opts: RestartOptions): Promise<ChaosReport> {
  const { harness: h, stack, seed } = opts;
  const perTrial = opts.runsPerTrial ?? 3;
  const downMs = opts.downMs ?? 5000;
  const runTimeout = opts.runTimeoutMs ?? 240_000;
  const log = opts.log ?? (() => undefined);
  const rng = rngFrom(seed);
  const results: RunResult[] = [];
  const problems: string[] = [];
  const trialMs: number[] = [];
  const started = Date.now();
  // The reaper is what clears sandboxes a lost engine stopped: sweep often enough to see it within a trial.
  const workerEnv = { ...stack.env, SIMLAB_REAP_INTERVAL_SECONDS: '5' };
  const containers = await watchContainerCreations(h);
  // One worker for every trial, as in a deployment: it lives through each restart.
  const worker = supervisedWorker(h, workerEnv, (l) => log(`worker: ${l}`));
  try {
    await worker.ready();
    for (let t = 0; t < opts.kinds.length; t++) {
      const kind = opts.kinds[t]!;
      const fault = `restart:${kind}` as const;
      const t0 = Date.now();
      const restartsBefore = worker.restarts;
      try {
        // The first run is the one hit at the target step; the others are staggered around it by the iteration.
        const target = opts.targets?.length ? opts.targets[t % opts.targets.length]! : 'running';
        const plans = Array.from({ length: perTrial }, (_, i) => planRun(rng, i === 0 ? target : null)).map((p, i) => (i === 0 && target === 'running' ? { ...p, agentSleep: Math.max(p.agentSleep, 4) } : p));
        const tags = plans.map((_, i) => `r${t}${kind[0]}${i}s${seed}`);
        const launchedAt = Date.now();
        const runIds = await launchIteration(h, tags, plans);
        await waitForKillPoint(h, rng, runIds[0]!, target, plans[0]!, launchedAt);
        const hitIn = await Promise.all(runIds.map((id) => statusOf(h, id)));
        const timing = await stack.restart(kind, downMs);
        log(
          `trial ${t}: ${kind} restarted at +${((Date.now() - launchedAt) / 1000).toFixed(1)} s with runs in ${hitIn.join(', ')} ` +
            `(stop ${timing.stopMs} ms, down ${timing.downMs} ms, start ${timing.startMs} ms)`,
        );
        const ended = await Promise.all(runIds.map((id) => waitEnded(h, id, runTimeout)));
        if (worker.restarts > restartsBefore) problems.push(`trial ${t} (${kind}): the worker process exited ${worker.restarts - restartsBefore} time(s) and was restarted`);
        for (let i = 0; i < perTrial; i++) {
          const e = ended[i]!;
          const checked = await checkRun(h, runIds[i]!, tags[i]!, e.run, containers.count(runIds[i]!), kind === 'docker');
          if (e.err) checked.problems.unshift(e.err.message);
          // One container per attempt: a provisioning attempt the outage cut short may be retried in a new one.
          const allowed = hitIn[i] === 'creating_sandbox' || hitIn[i] === 'queued' ? 2 : 1;
          if (checked.containersCreated > allowed || (checked.containersCreated < 1 && checked.status === 'completed')) {
            checked.problems.push(`${checked.containersCreated} containers created (hit in ${hitIn[i]})`);
          }
          const r: RunResult = { trial: t, fault, plan: plans[i]!, target: i === 0 ? target : null, killedIn: hitIn[i]!, durationMs: Date.now() - launchedAt, ...checked };
          results.push(r);
          for (const p of r.problems) problems.push(`trial ${t} run ${r.runId} (${kind} restart in ${r.killedIn}): ${p}`);
        }
        const left = await sandboxesGone(h, 20_000);
        if (left) problems.push(`trial ${t} (${kind}): ${left} sandbox(es) left after its runs ended`);
        log(`trial ${t}: ${ended.map((e) => `${e.run.status}${e.run.passed ? '+passed' : e.run.failure ? `:${e.run.failure.category}` : ''}`).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        // A failed trial must not leave the next one a service still down.
        await stack.start(kind);
      }
      trialMs.push(Date.now() - t0);
    }
  } finally {
    await worker.stop();
    containers.close();
  }
  const containersLeft = (await h.sandboxesLeft()).length;
  if (containersLeft) problems.push(`${containersLeft} sandbox(es) left at the end`);
  return summarize({ seed, trials: opts.kinds.length, results, problems, containersLeft, wallMs: Date.now() - started, trialMs });
}

function summarize(x: { seed: number; trials: number; results: RunResult[]; problems: string[]; containersLeft: number; wallMs: number; trialMs: number[] }): ChaosReport {
  const { results } = x;
  const count = <T>(xs: T[], key: (x: T) => string) => xs.reduce<Record<string, number>>((m, x) => ((m[key(x)] = (m[key(x)] ?? 0) + 1), m), {});
  // SIGKILL figures keep their plain keys (the README's table); restarts are prefixed with theirs.
  const by = (r: RunResult, k: string) => (r.fault === 'sigkill' ? k : `${r.fault} ${k}`);
  return {
    seed: x.seed,
    trials: x.trials,
    runs: results,
    killedIn: count(results, (r) => by(r, r.killedIn)),
    endings: count(results, (r) => by(r, r.status === 'completed' ? `completed${r.passed ? '+passed' : '+not passed'}` : `${r.status}${r.failure ? `:${r.failure.category}` : ''}`)),
    containersPerRun: count(results, (r) => by(r, `${r.containersCreated}${r.containersCreated > 1 ? ` (hit in ${r.killedIn})` : ''}`)),
    containersLeft: x.containersLeft,
    duplicateStatusRows: results.reduce((n, r) => n + r.duplicateStatusRows, 0),
    seqProblems: results.reduce((n, r) => n + r.seqProblems.length, 0),
    transcriptsBroken: results.filter((r) => !r.transcriptOk).length,
    archivesBroken: results.filter((r) => !r.archiveOk).length,
    // Only our faults stopped these agents: blame on the agent is always wrong, and `infra`
    // is right only where the fault took the sandbox away (a Docker engine restart).
    wrongBlame: results.filter((r) => r.failure?.category === 'agent' || (r.failure?.category === 'infra' && r.fault !== 'restart:docker')).length,
    problems: x.problems,
    wallMs: x.wallMs,
    trialMs: x.trialMs,
  };
}

export function formatReport(r: ChaosReport): string {
  const rows: [string, string][] = [
    ['seed / trials / runs', `${r.seed} / ${r.trials} / ${r.runs.length}`],
    ['status when hit', JSON.stringify(r.killedIn)],
    ['endings', JSON.stringify(r.endings)],
    ['containers created per run', JSON.stringify(r.containersPerRun)],
    ['sandboxes left', String(r.containersLeft)],
    ['duplicate status rows', String(r.duplicateStatusRows)],
    ['event seq problems', String(r.seqProblems)],
    ['transcripts not exact', String(r.transcriptsBroken)],
    ['archives missing/corrupt', String(r.archivesBroken)],
    ['wrongly blamed (agent, or infra without a lost sandbox)', String(r.wrongBlame)],
    ['wall time', `${(r.wallMs / 1000).toFixed(0)} s (trial ${Math.min(...r.trialMs) / 1000 | 0}-${Math.max(...r.trialMs) / 1000 | 0} s)`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return [...rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`), ...(r.problems.length ? ['problems:', ...r.problems.map((p) => `  ${p}`)] : ['problems: none'])].join('\n');
}

/**
 * A harness (API, database client, Docker client) on a private stack. The harness reads
 * its services from the environment synchronously, before its first await, so the
 * environment names the stack only for that synchronous moment: a harness or worker
 * started meanwhile elsewhere in this process (a concurrent test) still gets the machine's.
 */
export async function startStackHarness(stack: ChaosStack): Promise<Harness> {
  // Required late: the harness pulls in the worker SDK's native runtime, which a mere import of runChaos should not.
  const { startHarness } = require('../test/integration/harness') as typeof import('../test/integration/harness');
  const saved = Object.fromEntries(Object.keys(stack.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, stack.env);
  let started: Promise<Harness>;
  try {
    started = startHarness({ inProcessWorkers: false });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const h = await started;
  // Proof that the harness took the stack's services and not the machine's.
  const dockerHost = (h.docker.modem as { socketPath?: string }).socketPath;
  if (`unix://${dockerHost}` !== stack.env.DOCKER_HOST) {
    await h.close();
    throw new Error(`the harness uses Docker at ${dockerHost}, not the stack's ${stack.env.DOCKER_HOST}: startHarness must read its environment before its first await`);
  }
  return h;
}

async function main() {
  const argv = process.argv.slice(2);
  const trials = Number(argOf(argv, '--trials') ?? 10);
  const restarts = Number(argOf(argv, '--restarts') ?? 3);
  const seed = Number(argOf(argv, '--seed') ?? Date.now() % 1_000_000);
  const runsPerTrial = Number(argOf(argv, '--runs-per-trial') ?? 3);
  const log = (l: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}`);
  const { ChaosStack, CHAOS_SERVICES } = require('./chaosStack') as typeof import('./chaosStack');
  // Everything on a stack of its own: restarting its services cannot disturb anything else on this machine.
  const stack = new ChaosStack({
    log,
    ...(argOf(argv, '--stack-name') ? { name: argOf(argv, '--stack-name')! } : {}),
    ...(argOf(argv, '--temporal-port') ? { temporalPort: Number(argOf(argv, '--temporal-port')) } : {}),
    ...(argOf(argv, '--pg-port') ? { pgPort: Number(argOf(argv, '--pg-port')) } : {}),
  });
  const teardown = () => {
    for (const w of liveWorkers) w.kill('SIGKILL');
    return stack.down().catch((err: Error) => log(`tearing the stack down: ${err.message}`));
  };
  process.once('SIGINT', () => void teardown().then(() => process.exit(130)));
  process.once('SIGTERM', () => void teardown().then(() => process.exit(143)));
  try {
    await stack.up();
    const h = await startStackHarness(stack);
    try {
      const reports: Record<string, ChaosReport> = {};
      if (trials > 0) reports.sigkill = await runChaos({ trials, seed, harness: h, runsPerTrial, workerEnv: { ...stack.env }, log });
      if (restarts > 0) {
        const only = argOf(argv, '--services')?.split(',') ?? CHAOS_SERVICES;
        const unknown = only.filter((k) => !CHAOS_SERVICES.includes(k as never));
        if (unknown.length) throw new Error(`--services: unknown ${unknown.join(', ')} (known: ${CHAOS_SERVICES.join(', ')})`);
        const kinds = Array.from({ length: restarts }, () => only as typeof CHAOS_SERVICES).flat();
        const targets = (argOf(argv, '--restart-at')?.split(',') ?? ['running']) as Exclude<KillTarget, 'any'>[];
        const badTarget = targets.filter((x) => !TARGETS.includes(x) || x === ('any' as never));
        if (badTarget.length) throw new Error(`--restart-at: unknown ${badTarget.join(', ')} (known: ${TARGETS.filter((x) => x !== 'any').join(', ')})`);
        reports.restarts = await runRestartTrials({ harness: h, stack, kinds, targets, seed, runsPerTrial, log });
      }
      console.log(argv.includes('--json') ? JSON.stringify(reports, null, 2) : Object.entries(reports).map(([k, r]) => `== ${k}\n${formatReport(r)}`).join('\n\n'));
      process.exitCode = Object.values(reports).some((r) => r.problems.length) ? 1 : 0;
    } finally {
      await h.close();
    }
  } finally {
    await teardown();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
