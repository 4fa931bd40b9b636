/**
 * Orchestration overhead: N trivial runs (a command agent running `true`, one bash_command
 * criterion) at concurrency C through simlab (the real API, the real worker process, real
 * Temporal and Docker), then, in the same invocation, the same container work done with
 * plain dockerode (bench/lib/plainDocker.ts); prints both wall times and the ratio.
 *
 *   node dist/bench/overhead.js [--runs 100] [--concurrency 8] [--db postgres|embedded|postgres,embedded]
 *        [--image simlab/sandbox:bookworm] [--profile] [--baseline essential|mirror|essential,mirror] [--json]
 *        [--agent-command true]
 *
 * --agent-command: what the agent runs (default `true`, a trivial run); `sleep 20` shows
 *   what simlab adds to runs whose agent works for a while (its cost per run is fixed).
 *
 * --db postgres: a database of its own (simlab_bench) on the server of infra/postgres.sh
 *   (or BENCH_DATABASE_URL); --db embedded: a fresh PGlite served by infra/pglite-server.mjs.
 * --profile: the worker's SQL is counted on the wire (a proxy in front of the database,
 *   which costs a little), the baseline also runs in `mirror` mode, and a breakdown of a
 *   run's time is printed (status timeline, activities, workflow tasks, Docker calls).
 * Needs Temporal (TEMPORAL_ADDRESS), Docker with the image, and a built dist/.
 */
import * as fs from 'node:fs';
import { CallTimes, runPlainDocker, type BaselineMode, type TrivialSandbox } from './lib/plainDocker';
import { openBenchDatabase, type DatabaseKind } from './lib/database';
import { SqlProxy, type SqlStats } from './lib/sqlProxy';
import { startWorld, trivialExperiment, triggerIteration, waitForIteration } from './lib/world';
import { chainStats, type ExecutionStats } from './lib/histories';
import { formatEventKinds, formatHistories, formatSql, formatTimeline, runHistories, runTimelines } from './lib/profile';
import { argOf, fmtS, runMain } from './lib/args';
import { DockerProxy } from './lib/dockerProxy';
import { cpuSpan, pidsOf, temporalServerPids } from './lib/procStats';

interface Options {
  runs: number;
  concurrency: number;
  dbs: DatabaseKind[];
  image: string;
  agentCommand: string;
  profile: boolean;
  baselines: BaselineMode[];
  json: boolean;
  temporalAddress: string;
}

interface DbResult {
  db: DatabaseKind;
  runs: number;
  simlabMs: number;
  outcome: Record<string, number>;
  passed: number;
  baselines: Partial<Record<BaselineMode, number>>;
  ratio: number;
  iterationEvents: number[];
  maxRunEvents: number;
  largestPayload: number;
  /** CPU figures always; with --profile, the whole breakdown. */
  profile: string[];
}

const log = (l: string) => console.error(l);

async function measure(o: Options, kind: DatabaseKind): Promise<DbResult> {
  const spec: TrivialSandbox = { image: o.image, resources: { cpus: 1, memoryMb: 2048, pids: 512 }, agentCommand: o.agentCommand, criterionCommand: 'true' };
  const db = await openBenchDatabase(kind);
  const proxy = o.profile ? new SqlProxy({ host: new URL(db.url).hostname, port: Number(new URL(db.url).port || 5432) }) : undefined;
  const workerDatabaseUrl = proxy ? await proxy.listen(db.url) : undefined;
  let sql: SqlStats | undefined;
  const dockerProxy = o.profile ? new DockerProxy() : undefined;
  const dockerHost = dockerProxy ? await dockerProxy.listen() : undefined;
  const w = await startWorld({
    databaseUrl: db.url,
    ...(workerDatabaseUrl ? { workerDatabaseUrl } : {}),
    ...(dockerHost ? { workerEnv: { DOCKER_HOST: dockerHost } } : {}),
    temporalAddress: o.temporalAddress,
    concurrency: o.concurrency,
    log,
  });
  const profile: string[] = [];
  let result: Omit<DbResult, 'baselines' | 'ratio' | 'profile'>;
  try {
    const exp = await trivialExperiment(w, { runs: o.runs, image: spec.image, agentCommand: spec.agentCommand, criterionCommand: spec.criterionCommand, resources: spec.resources });
    log(`[overhead] ${kind}: worker up (queue ${w.taskQueue}); ${exp.runs} runs at concurrency ${o.concurrency}`);
    proxy?.reset();
    dockerProxy?.reset();
    const span = cpuSpan({ worker: [w.worker.pid!], 'bench+API': [process.pid], ...(db.pid ? { 'embedded db': [db.pid] } : {}), ...infraPids(o) });
    const t0 = performance.now();
    const it = await triggerIteration(w, exp.experimentId);
    const done = await waitForIteration(w, it.iterationId, { timeoutMs: Math.max(600_000, exp.runs * 30_000 / o.concurrency), everyMs: 250 });
    const simlabMs = performance.now() - t0;
    const cpu = span.stop();
    sql = proxy ? { ...proxy.stats, byKind: new Map(proxy.stats.byKind), roundTripMs: [...proxy.stats.roundTripMs] } : undefined;
    log(`[overhead] ${kind}: simlab ${fmtS(simlabMs)} ${JSON.stringify(done.summary.byStatus)}`);
    const iterChain: ExecutionStats[] = await chainStats(w.temporal, done.temporal.workflowId);
    const timeline = await runTimelines(w.prisma, it.iterationId);
    const hs = await runHistories(w.temporal, timeline.runs.map((r) => r.workflowId), o.profile ? 400 : 100);
    if (o.profile) {
      profile.push(...formatTimeline(timeline), ...formatHistories(hs));
      const itWft = iterChain.flatMap((c) => c.workflowTasks);
      profile.push(`iteration workflow: ${iterChain.map((c) => c.events).join(' + ')} events, ${itWft.length} workflow tasks, ${iterChain.flatMap((c) => c.activities).length} activities`);
      profile.push(...formatEventKinds(iterChain, exp.runs, 'iteration workflow events per run'), ...formatEventKinds(hs, hs.length, 'run workflow events per run'));
      if (sql) profile.push(...formatSql(sql, exp.runs));
      if (dockerProxy) profile.push(...formatDockerCalls(dockerProxy.calls, exp.runs, 'worker Docker API calls'));
    }
    profile.push(formatCpu(cpu, exp.runs, simlabMs));
    result = {
      db: kind,
      runs: exp.runs,
      simlabMs,
      outcome: done.summary.byStatus,
      passed: done.summary.passed,
      iterationEvents: iterChain.map((c) => c.events),
      maxRunEvents: Math.max(0, ...hs.map((h) => h.events)),
      largestPayload: Math.max(0, ...hs.map((h) => h.largestPayload), ...iterChain.map((c) => c.largestPayload)),
    };
  } finally {
    await w.close();
    await proxy?.close();
    await dockerProxy?.close();
    await db.close();
  }
  // The worker is gone: the baseline has the machine to itself, as simlab had.
  const baselines: Partial<Record<BaselineMode, number>> = {};
  const modes: BaselineMode[] = o.profile && !o.baselines.includes('mirror') ? [...o.baselines, 'mirror'] : o.baselines;
  for (const mode of modes) {
    const times = new CallTimes();
    const span = cpuSpan({ 'bench (dockerode)': [process.pid], ...infraPids(o) });
    baselines[mode] = await runPlainDocker({ spec, runs: result.runs, concurrency: o.concurrency, mode, times });
    profile.push(`baseline ${mode}: ${formatCpu(span.stop(), result.runs, baselines[mode]!)}`);
    log(`[overhead] ${kind}: plain dockerode (${mode}) ${fmtS(baselines[mode]!)}`);
    if (o.profile) {
      profile.push(`Docker calls of the ${mode} baseline (${result.runs} runs at concurrency ${o.concurrency}): call, count per run, mean, p95`);
      for (const [k, n, m, p] of times.summary()) profile.push(`  ${k.padEnd(52)} ${(n / result.runs).toFixed(1).padStart(5)}  ${m.toFixed(0).padStart(6)} ms  ${p.toFixed(0).padStart(6)} ms`);
    }
  }
  const base = baselines.essential ?? baselines.mirror!;
  return { ...result, baselines, ratio: result.simlabMs / base, profile };
}

function dockerdPid(): number[] {
  try {
    return [Number(fs.readFileSync('/var/run/docker.pid', 'utf8').trim())];
  } catch {
    return [];
  }
}

/** The shared engines whose CPU a run costs: Docker (dockerd, containerd, shims) and the Temporal server. */
function infraPids(o: Options): Record<string, number[]> {
  return {
    // The engine of /var/run/docker.sock and its containerd (the chaos suite runs engines of its own).
    docker: [...dockerdPid(), ...pidsOf(/^containerd --config \/var\/run\/docker\/containerd/)],
    temporal: temporalServerPids(o.temporalAddress),
  };
}

function formatCpu(c: ReturnType<ReturnType<typeof cpuSpan>['stop']>, runs: number, wallMs: number): string {
  const per = Object.entries(c.cpu).map(([k, s]) => `${k} ${((s * 1000) / runs).toFixed(0)} ms`).join(', ');
  return `CPU per run: ${per}; machine ${(c.machineBusy * 100).toFixed(0)}% busy over ${fmtS(wallMs)} (${((c.machineCpuSeconds * 1000) / runs).toFixed(0)} ms of CPU per run, all processes), load ${c.load}`;
}

function formatDockerCalls(calls: Map<string, number[]>, runs: number, title: string): string[] {
  const requests = [...calls.entries()].filter(([k]) => !k.includes('(attached')).flatMap(([, xs]) => xs);
  const rows = [...calls.entries()].sort((a, b) => b[1].length - a[1].length);
  return [
    `${title}: ${(requests.length / runs).toFixed(1)} requests per run, ${(requests.reduce((a, b) => a + b, 0) / runs).toFixed(0)} ms per run until their answers' first byte`,
    ...rows.map(([k, xs]) => `  ${(xs.length / runs).toFixed(2).padStart(6)}  ${k.padEnd(40)} mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0).padStart(5)} ms`),
  ];
}

function format(o: Options, rs: DbResult[]): string {
  const lines: string[] = [];
  for (const r of rs) {
    lines.push(`${r.db}: ${r.runs} ${o.agentCommand === 'true' ? 'trivial runs' : `runs of agent '${o.agentCommand}'`} at concurrency ${o.concurrency}, image ${o.image}`);
    lines.push(`  simlab                       ${fmtS(r.simlabMs).padStart(8)}   (${(r.runs / (r.simlabMs / 1000)).toFixed(2)} runs/s; ${JSON.stringify(r.outcome)}, ${r.passed} passed)`);
    for (const [mode, ms] of Object.entries(r.baselines)) lines.push(`  plain dockerode (${mode.padEnd(9)})  ${fmtS(ms).padStart(8)}   ratio simlab/${mode} ${(r.simlabMs / ms).toFixed(2)}`);
    lines.push(`  histories: iteration ${r.iterationEvents.join(' + ')} events; largest run workflow ${r.maxRunEvents} events; largest payload ${r.largestPayload} B`);
    lines.push(o.profile ? '  profile:' : '  cost:', ...r.profile.map((l) => `    ${l}`));
  }
  return lines.join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const o: Options = {
    runs: Number(argOf(argv, '--runs') ?? 100),
    concurrency: Number(argOf(argv, '--concurrency') ?? 8),
    dbs: (argOf(argv, '--db') ?? 'postgres').split(',') as DatabaseKind[],
    image: argOf(argv, '--image') ?? 'simlab/sandbox:bookworm',
    agentCommand: argOf(argv, '--agent-command') ?? 'true',
    profile: argv.includes('--profile'),
    baselines: (argOf(argv, '--baseline') ?? 'essential').split(',') as BaselineMode[],
    json: argv.includes('--json'),
    temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  };
  const bad = [
    ...(!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 10_000 ? ['--runs must be an integer from 1 to 10000'] : []),
    ...(!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 200 ? ['--concurrency must be an integer from 1 to 200'] : []),
    ...o.dbs.filter((d) => d !== 'postgres' && d !== 'embedded').map((d) => `--db: unknown database '${d}' (postgres, embedded)`),
    ...o.baselines.filter((b) => b !== 'essential' && b !== 'mirror').map((b) => `--baseline: unknown mode '${b}' (essential, mirror)`),
  ];
  if (bad.length) {
    console.error(bad.join('\n'));
    process.exit(2);
  }
  const results: DbResult[] = [];
  for (const kind of o.dbs) results.push(await measure(o, kind));
  console.log(o.json ? JSON.stringify({ options: o, results }, null, 2) : format(o, results));
}

if (require.main === module) runMain(main);
