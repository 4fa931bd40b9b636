/**
 * Analysis activities (shared task queue: database and model work, no sandbox). The
 * workflows call analyzeRun in a run's `analyzing` step and computeIterationResults once
 * when every run of an iteration has ended. An analysis problem is reported in what is
 * stored, never thrown: only database trouble is (and is retried); a run's score and verdict
 * are never touched here.
 */
import { heartbeat } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import { RunStateError } from '../domain/errors';
import { isTerminal, type RunStatus } from '../domain/runLifecycle';
import { computeResults, type IterationResults, type ResultsRun } from '../analysis/iterationResults';
import type { AnalysisModel } from '../analysis/model';
import { analyzeRunFacts } from '../analysis/runAnalysis';
import { EMPTY_SIGNAL_CONFIG, parseSignalConfig, type SignalConfig } from '../analysis/signalConfig';
import type { RunAnalysisDocument } from '../analysis/types';
import { transitionRun, type TransitionInput, type TransitionResult } from '../store/runStatus';
import { findRunAnalysis, findIterationResult, frozenSignalConfig, iterationAnalyses, loadRunFacts, previousIterationResult, saveIterationResult, saveRunAnalysis } from '../store/analysis';

export interface AnalysisActivityDeps {
  prisma: PrismaClient;
  /** The model of rubric questions, friction points and clusters; absent: deterministic only (reported when the config asks for one). */
  model?: AnalysisModel;
}

export interface AnalyzeRunResult {
  runId: string;
  status: 'analysed' | 'partial';
  frictionPoints: number;
  problems: number;
  /** The run's ending, when it was asked to write it (`then`): which ending stands. */
  ended?: TransitionResult;
}

export interface IterationResultsSummary {
  iterationId: string;
  sha256: string;
  clusters: number;
  /** False when the results had already been computed (a retry): the stored ones stand. */
  computed: boolean;
}

const PAGE = 1000;

/** The iteration's frozen config; an unreadable one (stored before configs were checked) analyses nothing, and says so. */
async function configOf(prisma: PrismaClient, iterationId: string): Promise<{ config: SignalConfig; problem?: string }> {
  const text = await frozenSignalConfig(prisma, iterationId);
  if (text === null) return { config: EMPTY_SIGNAL_CONFIG };
  const parsed = parseSignalConfig(text);
  if (parsed.ok) return { config: parsed.config };
  return { config: EMPTY_SIGNAL_CONFIG, problem: `the signal config is invalid (${parsed.violations.map((v) => `${v.line}:${v.column} ${v.pointer} ${v.message}`).join('; ')}): no signals extracted` };
}

export function createAnalysisActivities(deps: AnalysisActivityDeps) {
  const { prisma } = deps;

  async function analyze(runId: string, cfg?: { config: SignalConfig; problem?: string }): Promise<RunAnalysisDocument> {
    const existing = await findRunAnalysis(prisma, runId);
    if (existing) return existing;
    const facts = await loadRunFacts(prisma, runId);
    if (!facts) throw new RunStateError(`run ${runId} does not exist`);
    const { config, problem } = cfg ?? (await configOf(prisma, facts.iterationId));
    let doc: RunAnalysisDocument;
    try {
      doc = await analyzeRunFacts({ ...facts, status: facts.status === 'analyzing' ? 'completed' : facts.status }, config, deps.model);
    } catch (err) {
      // A fault of the analysis itself (not of the database): recorded, and the run goes on.
      doc = { runId, signals: {}, friction: { source: 'deterministic', points: [] }, deterministicFriction: [], problems: [`the analysis failed: ${(err as Error).message}`], model: null };
    }
    if (problem) doc.problems.unshift(problem);
    return saveRunAnalysis(prisma, facts.iterationId, doc);
  }

  return {
    /**
     * Signals and friction points of one run, stored once. Safe to retry. `then`: the run's
     * ending, written once the analysis is stored (v6: one activity and workflow task fewer
     * per completed run than a transition of its own).
     */
    async analyzeRun(input: { runId: string; then?: TransitionInput }): Promise<AnalyzeRunResult> {
      const timer = setInterval(() => heartbeat(), 3000);
      try {
        const doc = await analyze(input.runId);
        const ended = input.then ? await transitionRun(prisma, input.then) : undefined;
        return { runId: input.runId, status: doc.problems.length ? 'partial' : 'analysed', frictionPoints: doc.friction.points.length, problems: doc.problems.length, ...(ended ? { ended } : {}) };
      } finally {
        clearInterval(timer);
      }
    },

    /**
     * The iteration's results, computed once every run has ended, from the runs' frozen
     * facts and analyses (a run not yet analysed is analysed now), stored as text. A retry,
     * or a second call, returns what was stored first.
     */
    async computeIterationResults(input: { iterationId: string }): Promise<IterationResultsSummary> {
      // Steady heartbeats: analysing runs that were not yet analysed, or a model's clustering, may take a while.
      const timer = setInterval(() => heartbeat(), 3000);
      try {
        return await computeOnce(input.iterationId);
      } finally {
        clearInterval(timer);
      }
    },
  };

  async function computeOnce(iterationId: string): Promise<IterationResultsSummary> {
    const stored = await findIterationResult(prisma, iterationId);
    if (stored) return { iterationId, sha256: stored.sha256, clusters: (JSON.parse(stored.document) as IterationResults).clusters.length, computed: false };
    const it = await prisma.iteration.findUnique({ where: { id: iterationId }, select: { id: true, number: true, experimentId: true } });
    if (!it) throw new RunStateError(`iteration ${iterationId} does not exist`);
    const live = await prisma.run.count({ where: { iterationId: it.id, status: { notIn: ['completed', 'failed', 'cancelled'] } } });
    if (live) throw new RunStateError(`iteration ${it.id} still has ${live} run(s) that have not ended: its results are computed once they all have`);
    const cfg = await configOf(prisma, it.id);
    const runs: ResultsRun[] = [];
    let finishedAt: Date | null = null;
    for (let after: string | undefined; ; ) {
      const page = await prisma.run.findMany({
        where: { iterationId: it.id, ...(after ? { id: { gt: after } } : {}) },
        orderBy: { id: 'asc' },
        take: PAGE,
        select: { id: true, taskId: true, environmentId: true, variant: true, status: true, score: true, passed: true, failureCategory: true, failureMessage: true, finishedAt: true },
      });
      if (!page.length) break;
      const analyses = await iterationAnalyses(prisma, it.id, page.map((r) => r.id));
      const failingIds = page.filter((r) => r.passed === false || r.status === 'failed').map((r) => r.id);
      const failingCriteria = new Map<string, { name: string; evidence: string }[]>();
      const failing = failingIds.length
        ? await prisma.criterionResult.findMany({ where: { runId: { in: failingIds }, OR: [{ passed: false }, { status: 'error' }] }, orderBy: [{ runId: 'asc' }, { goalResultId: 'asc' }, { index: 'asc' }], select: { runId: true, name: true, evidence: true } })
        : [];
      for (const c of failing) failingCriteria.set(c.runId, [...(failingCriteria.get(c.runId) ?? []), { name: c.name, evidence: c.evidence.slice(0, 2000) }]);
      for (const r of page) {
        if (!isTerminal(r.status as RunStatus)) throw new RunStateError(`run ${r.id} has not ended`);
        const doc = analyses.get(r.id) ?? (await analyze(r.id, cfg));
        if (r.finishedAt && (!finishedAt || r.finishedAt > finishedAt)) finishedAt = r.finishedAt;
        runs.push({
          runId: r.id,
          taskId: r.taskId,
          environmentId: r.environmentId,
          variant: r.variant,
          status: r.status,
          score: r.score,
          passed: r.passed,
          failureCategory: r.failureCategory,
          failureMessage: r.failureMessage,
          signals: doc.signals,
          friction: doc.friction.points,
          failingCriteria: failingCriteria.get(r.id) ?? [],
        });
      }
      after = page[page.length - 1]!.id;
    }
    const previous = it.experimentId ? await previousIterationResult(prisma, it.experimentId, it.number) : null;
    const previousClusters = previous ? (JSON.parse(previous.document) as IterationResults).clusters.map((c) => ({ name: c.name, signature: c.signature })) : [];
    const results = await computeResults({
        iterationId: it.id,
        experimentId: it.experimentId,
        iteration: it.number,
        finishedAt: finishedAt?.toISOString() ?? null,
        config: cfg.config,
        runs,
        previousClusters,
        ...(deps.model ? { model: deps.model } : {}),
      });
    if (cfg.problem) results.analysis.problems.unshift(cfg.problem);
    const document = JSON.stringify(results);
    const saved = await saveIterationResult(prisma, { iterationId: it.id, experimentId: it.experimentId, number: it.number, document });
    // A concurrent call may have stored first: its text is the iteration's results.
    return { iterationId: it.id, sha256: saved.sha256, clusters: (JSON.parse(saved.document) as IterationResults).clusters.length, computed: saved.document === document };
  }
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;
