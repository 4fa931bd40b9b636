/**
 * Scale: one iteration of --runs trivial runs (a command agent running `true`, one
 * bash_command criterion, real sandboxes) through the real API and worker process.
 * Prints the wall time and runs per second, the largest history of any execution (the
 * iteration's parent across its continued-as-new runs, and the largest run workflow of a
 * sample), the largest payload seen in those histories, the worker's peak RSS, and the
 * p95 latency of `GET /iterations/:id` and of the first page of the iteration's run list,
 * sampled while the iteration runs and after it has ended.
 *
 *   node dist/bench/scale.js [--runs 200] [--concurrency 8] [--db postgres|embedded]
 *        [--image simlab/sandbox:bookworm] [--history-sample 200] [--json]
 *
 * Targets (issue 11): history < 10,240 events per execution (< 200 per run workflow),
 * peak RSS <= 500 MB, p95 <= 100 ms. 10,000 runs is the long form, started by hand.
 */
import { argOf, fmtS, runMain } from './lib/args';
import { openBenchDatabase, type DatabaseKind } from './lib/database';
import { chainStats, mean, pct, type ExecutionStats } from './lib/histories';
import { cpuSpan, memoryKb } from './lib/procStats';
import { runHistories } from './lib/profile';
import { startWorld, trivialExperiment, triggerIteration, waitForIteration, type World } from './lib/world';

interface Options {
  runs: number;
  concurrency: number;
  db: DatabaseKind;
  image: string;
  historySample: number;
  json: boolean;
  temporalAddress: string;
}

const log = (l: string) => console.error(l);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Latency samples of the two reads an operator makes of a big iteration. */
class ReadLatency {
  readonly iteration: number[] = [];
  readonly runList: number[] = [];
  readonly errors: string[] = [];
  constructor(
    private readonly w: World,
    private readonly iterationId: string,
  ) {}

  async sampleOnce(): Promise<void> {
    const a = await this.w.api('GET', `/iterations/${this.iterationId}`);
    if (a.status === 200) this.iteration.push(a.ms);
    else this.errors.push(`GET iteration ${a.status}`);
    const b = await this.w.api('GET', `/products/${this.w.org.productSlug}/runs?iterationId=${this.iterationId}&limit=50`);
    if (b.status === 200) this.runList.push(b.ms);
    else this.errors.push(`GET run list ${b.status}`);
  }

  summary() {
    return {
      iteration: { n: this.iteration.length, p50: pct(this.iteration, 50), p95: pct(this.iteration, 95), max: Math.max(0, ...this.iteration) },
      runList: { n: this.runList.length, p50: pct(this.runList, 50), p95: pct(this.runList, 95), max: Math.max(0, ...this.runList) },
      errors: this.errors.slice(0, 5),
    };
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const o: Options = {
    runs: Number(argOf(argv, '--runs') ?? 200),
    concurrency: Number(argOf(argv, '--concurrency') ?? 8),
    db: (argOf(argv, '--db') ?? 'postgres') as DatabaseKind,
    image: argOf(argv, '--image') ?? 'simlab/sandbox:bookworm',
    historySample: Number(argOf(argv, '--history-sample') ?? 200),
    json: argv.includes('--json'),
    temporalAddress: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  };
  const bad = [
    ...(!Number.isInteger(o.runs) || o.runs < 1 || o.runs > 10_000 ? ['--runs must be an integer from 1 to 10000'] : []),
    ...(!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 1000 ? ['--concurrency must be an integer from 1 to 1000'] : []),
    ...(o.db !== 'postgres' && o.db !== 'embedded' ? [`--db: unknown database '${o.db}' (postgres, embedded)`] : []),
    ...(!Number.isInteger(o.historySample) || o.historySample < 1 ? ['--history-sample must be a positive integer'] : []),
  ];
  if (bad.length) {
    console.error(bad.join('\n'));
    process.exit(2);
  }

  const db = await openBenchDatabase(o.db);
  const w = await startWorld({ databaseUrl: db.url, temporalAddress: o.temporalAddress, concurrency: o.concurrency, log });
  const pid = w.worker.pid!;
  // VmHWM includes the worker's start (bundling the workflow code is its own peak): the
  // iteration's peak is the largest VmRSS sampled while it runs.
  const startHwmKb = memoryKb(pid).hwm;
  let peakRssKb = 0;
  let lastRssKb = 0;
  const rssTimer = setInterval(() => {
    lastRssKb = memoryKb(pid).rss;
    peakRssKb = Math.max(peakRssKb, lastRssKb);
  }, 1000);
  // The worker's RSS each time another tenth of the runs has ended: whether memory levels
  // off or keeps growing with the run count is what a peak alone does not say.
  const rssByEnded: { ended: number; rssMb: number; peakMb: number }[] = [];
  try {
    const exp = await trivialExperiment(w, { runs: o.runs, image: o.image, agentCommand: 'true', criterionCommand: 'true', resources: { cpus: 1, memoryMb: 2048, pids: 512 } });
    log(`[scale] ${o.db}: worker up (queue ${w.taskQueue}); ${exp.runs} runs (${exp.environmentIds.length} environments x ${exp.repeats} repeats) at concurrency ${o.concurrency}`);
    const span = cpuSpan({ worker: [pid] });
    const t0 = performance.now();
    const it = await triggerIteration(w, exp.experimentId);
    const triggerMs = performance.now() - t0;
    const during = new ReadLatency(w, it.iterationId);
    let ended = false;
    let lastLog = 0;
    // Reads go on apart from the wait, a sample every half second, as a dashboard would.
    const sampler = (async () => {
      while (!ended) {
        await during.sampleOnce();
        await sleep(500);
      }
    })();
    const done = await waitForIteration(w, it.iterationId, {
      timeoutMs: Math.max(900_000, exp.runs * 20_000),
      everyMs: 1000,
      onPoll: (body) => {
        const ended = Number(body.summary.ended ?? 0);
        const step = Math.max(1, Math.floor(exp.runs / 10));
        if (ended >= (rssByEnded.length + 1) * step && lastRssKb) rssByEnded.push({ ended, rssMb: lastRssKb / 1024, peakMb: peakRssKb / 1024 });
        if (Date.now() - lastLog > 30_000) {
          lastLog = Date.now();
          log(`[scale] +${fmtS(performance.now() - t0)} ${JSON.stringify(body.summary.byStatus)} worker RSS ${(lastRssKb / 1024).toFixed(0)} MB (peak ${(peakRssKb / 1024).toFixed(0)})`);
        }
      },
    });
    const wallMs = performance.now() - t0;
    ended = true;
    await sampler;
    const cpu = span.stop();
    const after = new ReadLatency(w, it.iterationId);
    for (let i = 0; i < 40; i++) await after.sampleOnce();

    const chain: ExecutionStats[] = await chainStats(w.temporal, done.temporal.workflowId);
    const runIds = await w.prisma.run.findMany({ where: { iterationId: it.iterationId }, select: { workflowId: true }, orderBy: { id: 'asc' } });
    const runs = await runHistories(w.temporal, runIds.map((r) => r.workflowId), o.historySample);
    const maxRun = runs.reduce<ExecutionStats | undefined>((m, h) => (!m || h.events > m.events ? h : m), undefined);
    const largestPayload = Math.max(0, ...chain.map((c) => c.largestPayload), ...runs.map((r) => r.largestPayload));
    peakRssKb = Math.max(peakRssKb, memoryKb(pid).rss);
    const hwmKb = memoryKb(pid).hwm;
    const report = {
      options: o,
      runs: exp.runs,
      outcome: done.summary.byStatus,
      passed: done.summary.passed,
      triggerMs,
      wallMs,
      runsPerSecond: exp.runs / (wallMs / 1000),
      iteration: { executions: chain.length, events: chain.map((c) => c.events), maxEvents: Math.max(0, ...chain.map((c) => c.events)) },
      runWorkflows: { sampled: runs.length, maxEvents: maxRun?.events ?? 0, meanEvents: mean(runs.map((r) => r.events)) },
      largestPayloadBytes: largestPayload,
      workerPeakRssMb: peakRssKb / 1024,
      workerHwmMb: { atStart: startHwmKb / 1024, atEnd: hwmKb / 1024 },
      workerRssByEnded: rssByEnded,
      workerCpuMsPerRun: (cpu.cpu.worker! * 1000) / exp.runs,
      machine: { busy: cpu.machineBusy, load: cpu.load },
      latencyMs: { during: during.summary(), after: after.summary() },
    };
    if (o.json) console.log(JSON.stringify(report, null, 2));
    else {
      const l = report.latencyMs;
      console.log(
        [
          `${o.db}: one iteration of ${exp.runs} trivial runs at concurrency ${o.concurrency}, image ${o.image}`,
          `  outcome                ${JSON.stringify(report.outcome)}, ${report.passed} passed`,
          `  wall time              ${fmtS(wallMs)} (trigger answered in ${triggerMs.toFixed(0)} ms)`,
          `  runs per second        ${report.runsPerSecond.toFixed(2)}`,
          `  iteration history      ${chain.length} execution(s): ${report.iteration.events.join(' + ')} events (largest ${report.iteration.maxEvents}; target < 10,240)`,
          `  run workflow history   largest ${report.runWorkflows.maxEvents} events, mean ${report.runWorkflows.meanEvents.toFixed(1)} (${runs.length} sampled; target < 200)`,
          `  largest payload        ${largestPayload} B`,
          `  worker peak RSS        ${report.workerPeakRssMb.toFixed(0)} MB during the iteration (target <= 500 MB); VmHWM ${report.workerHwmMb.atStart.toFixed(0)} MB after start (bundling), ${report.workerHwmMb.atEnd.toFixed(0)} MB at the end; worker CPU ${report.workerCpuMsPerRun.toFixed(0)} ms per run`,
          `  worker RSS by runs ended ${rssByEnded.map((r) => `${r.ended}: ${r.rssMb.toFixed(0)}`).join(', ')} MB`,
          `  GET iteration          p95 ${l.during.iteration.p95.toFixed(1)} ms while running (n=${l.during.iteration.n}, max ${l.during.iteration.max.toFixed(0)}), p95 ${l.after.iteration.p95.toFixed(1)} ms after (n=${l.after.iteration.n}) (target <= 100 ms)`,
          `  run list, first page   p95 ${l.during.runList.p95.toFixed(1)} ms while running (n=${l.during.runList.n}, max ${l.during.runList.max.toFixed(0)}), p95 ${l.after.runList.p95.toFixed(1)} ms after (n=${l.after.runList.n}) (target <= 100 ms)`,
          `  machine                ${(cpu.machineBusy * 100).toFixed(0)}% busy, load ${cpu.load}`,
          ...(l.during.errors.length || l.after.errors.length ? [`  read errors            ${[...l.during.errors, ...l.after.errors].join('; ')}`] : []),
        ].join('\n'),
      );
    }
  } finally {
    clearInterval(rssTimer);
    await w.close();
    await db.close();
  }
}

if (require.main === module) runMain(main);
