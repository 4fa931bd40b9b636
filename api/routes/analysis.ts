/**
 * The analysis half of the API: a run's analysis, a task's history across iterations, an
 * experiment iteration's frozen results (with a comparison to an earlier one, or one failure
 * cluster in depth), its signals per run, and replacing an experiment's signal config.
 * Results are served from the stored text, never recomputed from live data.
 */
import { Router } from 'express';
import { compareResults } from '../../analysis/compare';
import type { IterationResults } from '../../analysis/iterationResults';
import { signalConfigViolations } from '../../analysis/signalConfig';
import { cellKey, summarize } from '../../analysis/summary';
import type { RunAnalysisDocument } from '../../analysis/types';
import { findExperiment } from '../../store/experiments';
import { findIterationResult, frictionByIteration, iterationAnalyses } from '../../store/analysis';
import { principal } from '../auth';
import { HttpError, invalid, notFound } from '../errors';
import { onlyFields } from '../inputGuard';
import type { ApiDeps } from '../app';
import type { PrismaClient } from '../../prisma/client';
import { experimentView } from './experiments';
import { intParam, pageParams, stringParam } from './params';

const MAX_SIGNAL_CONFIG = 256 * 1024;
const MAX_CLUSTER_RUNS = 50;
const EXCERPTS_PER_RUN = 5;
const EXCERPT_CHARS = 600;

const RUN_FIELDS = { id: true, iterationId: true, taskId: true, environmentId: true, variant: true, repeat: true, status: true, score: true, passed: true } as const;

/** A signals page's cursor: the last run id of the page before, as this API encoded it. */
function signalsCursor(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const id = Buffer.from(raw, 'base64url').toString('utf8');
  if (!/^run_[A-Za-z0-9]+$/.test(id)) throw new HttpError(400, 'validation_failed', 'cursor is not one this API returned', [{ pointer: '/cursor', message: 'must be a nextCursor from a previous page' }]);
  return id;
}

const analysisView = ({ id, status, ...run }: { id: string; status: string; [k: string]: unknown }, doc: RunAnalysisDocument | null) => ({
  runId: id,
  ...run,
  runStatus: status,
  status: doc ? (doc.problems.length ? 'partial' : 'analysed') : 'pending',
  signals: doc?.signals ?? {},
  friction: doc?.friction ?? null,
  deterministicFriction: doc?.deterministicFriction ?? [],
  problems: doc?.problems ?? [],
  model: doc?.model ?? null,
});

async function experimentIteration(prisma: PrismaClient, organizationId: string, experimentId: string, number: number | undefined, what: string) {
  const e = await findExperiment(prisma, organizationId, experimentId);
  if (!e) throw notFound('experiment', experimentId);
  const it = await prisma.iteration.findFirst({
    where: { organizationId, experimentId: e.id, ...(number !== undefined ? { number } : { results: { isNot: null } }) },
    orderBy: { number: 'desc' },
    select: { id: true, number: true, status: true },
  });
  if (!it) {
    if (number !== undefined) throw notFound(`iteration of experiment '${e.id}'`, String(number));
    throw new HttpError(409, 'results_not_ready', `experiment '${e.id}' has no iteration with ${what} yet: they are computed when an iteration's runs have all ended`);
  }
  const stored = await findIterationResult(prisma, it.id);
  if (!stored) throw new HttpError(409, 'results_not_ready', `iteration #${it.number} of experiment '${e.id}' is ${it.status}: its ${what} are computed once every run has ended`);
  return { experiment: e, iteration: it, stored, results: JSON.parse(stored.document) as IterationResults };
}

export function analysisRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  r.get('/runs/:id/analysis', async (req, res) => {
    const { organizationId } = principal(req);
    const found = await prisma.run.findFirst({ where: { id: req.params.id, organizationId }, select: { ...RUN_FIELDS, analysis: { select: { document: true } } } });
    if (!found) throw notFound('run', req.params.id);
    const { analysis, ...run } = found;
    res.json(analysisView(run, (analysis?.document as unknown as RunAnalysisDocument | undefined) ?? null));
  });

  // A task's history: one row per iteration it ran in, newest first, from the frozen results
  // where the iteration has them, otherwise from its runs as they stand (`frozen: false`).
  r.get('/tasks/:id/analysis', async (req, res) => {
    const { organizationId } = principal(req);
    const task = await prisma.task.findFirst({ where: { id: req.params.id, organizationId }, select: { id: true, name: true } });
    if (!task) throw notFound('task', req.params.id);
    const limit = intParam(req.query.limit, 'limit', 1, 100) ?? 20;
    const groups = await prisma.run.groupBy({ by: ['iterationId'], where: { organizationId, taskId: task.id }, _max: { createdAt: true }, orderBy: { _max: { createdAt: 'desc' } }, take: limit });
    const ids = groups.map((g) => g.iterationId);
    const [iterations, friction] = await Promise.all([
      prisma.iteration.findMany({ where: { id: { in: ids } }, include: { results: true } }),
      frictionByIteration(prisma, task.id, ids),
    ]);
    const history = [];
    for (const g of groups) {
      const it = iterations.find((x) => x.id === g.iterationId)!;
      const frozen = it.results ? (JSON.parse(it.results.document) as IterationResults) : null;
      // A frozen iteration's summary is in its results; its runs are read only to tell the
      // task's runs in its clusters apart (ids alone), and only where it has clusters.
      let summary;
      let runIds: Set<string>;
      if (frozen) {
        summary = frozen.summary.filter((row) => row.taskId === task.id);
        runIds = new Set(frozen.clusters.length === 0 ? [] : (await prisma.run.findMany({ where: { iterationId: it.id, taskId: task.id }, select: { id: true } })).map((x) => x.id));
      } else {
        const runs = await prisma.run.findMany({
          where: { iterationId: it.id, taskId: task.id },
          orderBy: { id: 'asc' },
          select: { id: true, taskId: true, environmentId: true, variant: true, status: true, score: true, passed: true, failureCategory: true },
        });
        summary = summarize(runs.map((x) => ({ ...x, runId: x.id })), cellKey);
        runIds = new Set(runs.map((x) => x.id));
      }
      const counted = friction.get(it.id) ?? { analysedRuns: 0, frictionKinds: {} };
      history.push({
        iterationId: it.id,
        experimentId: it.experimentId,
        number: it.number,
        status: it.status,
        createdAt: it.createdAt.toISOString(),
        frozen: frozen !== null,
        summary,
        clusters: (frozen?.clusters ?? [])
          .filter((c) => c.runIds.some((id) => runIds.has(id)))
          .map((c) => ({ name: c.name, rootCauseCategory: c.rootCauseCategory, rootCause: c.rootCause, recommendedFix: c.recommendedFix, runIds: c.runIds.filter((id) => runIds.has(id)) })),
        frictionKinds: counted.frictionKinds,
        analysedRuns: counted.analysedRuns,
      });
    }
    res.json({ taskId: task.id, taskName: task.name, iterations: history });
  });

  r.get('/experiments/:id/results', async (req, res) => {
    const { organizationId } = principal(req);
    const number = intParam(req.query.iteration, 'iteration', 1, 999_999_999);
    const compare = intParam(req.query.compare, 'compare', 1, 999_999_999);
    const category = stringParam(req.query.errorCategory);
    const { experiment, stored, results } = await experimentIteration(prisma, organizationId, req.params.id, number, 'results');
    if (category !== undefined) {
      const wanted = category.toLowerCase();
      const cluster = results.clusters.find((c) => c.name.toLowerCase() === wanted || c.key === category) ?? results.clusters.filter((c) => c.name.toLowerCase().includes(wanted)).at(0);
      if (!cluster) {
        throw new HttpError(404, 'not_found', `iteration #${results.iteration} has no failure cluster '${category}'`, [
          { pointer: '/errorCategory', message: `must be one of: ${results.clusters.map((c) => c.name).join(' | ') || '(no clusters: no run failed)'}` },
        ]);
      }
      const ids = cluster.runIds.slice(0, MAX_CLUSTER_RUNS);
      const [runs, analyses] = await Promise.all([
        prisma.run.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' }, select: { id: true, taskId: true, environmentId: true, variant: true, repeat: true, status: true, score: true, passed: true, failureCategory: true, failureMessage: true } }),
        iterationAnalyses(prisma, results.iterationId, ids),
      ]);
      const out = [];
      for (const run of runs) {
        const points = analyses.get(run.id)?.friction.points ?? [];
        const seqs = [...new Set(points.flatMap((p) => p.seqs))].filter((s) => s > 0).sort((a, b) => a - b).slice(0, EXCERPTS_PER_RUN);
        const events = seqs.length ? await prisma.runEvent.findMany({ where: { runId: run.id, seq: { in: seqs } }, orderBy: { seq: 'asc' } }) : [];
        out.push({
          ...run,
          runId: run.id,
          frictionPoints: points,
          excerpts: events.map((e) => {
            const d = e.data as Record<string, unknown>;
            const text = String(d.text ?? d.output ?? d.message ?? JSON.stringify(d));
            const t = text.trimEnd();
            return { seq: e.seq, type: e.type, at: e.at.toISOString(), text: t.length > EXCERPT_CHARS ? `${t.slice(0, EXCERPT_CHARS)}…` : t };
          }),
        });
      }
      res.json({ experimentId: experiment.id, iteration: results.iteration, iterationId: results.iterationId, cluster, runs: out, more: Math.max(0, cluster.runIds.length - ids.length) });
      return;
    }
    let comparison = undefined;
    if (compare !== undefined) {
      const base = await experimentIteration(prisma, organizationId, experiment.id, compare, 'results');
      comparison = compareResults(results, base.results);
    }
    res.json({ ...results, sha256: stored.sha256, ...(comparison ? { comparison } : {}) });
  });

  // The aggregates come from the frozen results; the values per run come a page at a time
  // (keyset on the run id), since an iteration may hold 10,000 runs.
  r.get('/experiments/:id/signals', async (req, res) => {
    const { organizationId } = principal(req);
    const number = intParam(req.query.iteration, 'iteration', 1, 999_999_999);
    const { limit } = pageParams(req.query);
    const after = signalsCursor(stringParam(req.query.cursor));
    const { experiment, results } = await experimentIteration(prisma, organizationId, req.params.id, number, 'signals');
    const rows = await prisma.run.findMany({
      where: { iterationId: results.iterationId, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: 'asc' },
      take: limit + 1,
      select: { id: true, taskId: true, environmentId: true, variant: true, repeat: true, status: true },
    });
    const runs = rows.slice(0, limit);
    const analyses = await iterationAnalyses(prisma, results.iterationId, runs.map((x) => x.id));
    res.json({
      experimentId: experiment.id,
      iteration: results.iteration,
      iterationId: results.iterationId,
      definitions: results.signals.definitions,
      aggregates: results.signals.aggregates,
      runs: runs.map((x) => ({ runId: x.id, taskId: x.taskId, environmentId: x.environmentId, variant: x.variant, repeat: x.repeat, status: x.status, signals: analyses.get(x.id)?.signals ?? {} })),
      nextCursor: rows.length > limit ? Buffer.from(runs[runs.length - 1]!.id, 'utf8').toString('base64url') : null,
    });
  });

  // Future iterations only: started ones froze the config they were launched with.
  r.put('/experiments/:id/signal-config', async (req, res) => {
    const { organizationId } = principal(req);
    const e = await findExperiment(prisma, organizationId, req.params.id);
    if (!e) throw notFound('experiment', req.params.id);
    const body = onlyFields(req.body, ['signalConfig']);
    const text = body.signalConfig;
    if (text !== null && (typeof text !== 'string' || text.length > MAX_SIGNAL_CONFIG)) throw invalid('signal config', [{ pointer: '/signalConfig', message: `must be the file's text (at most ${MAX_SIGNAL_CONFIG} characters), or null to remove it` }]);
    if (typeof text === 'string') {
      const violations = signalConfigViolations(text);
      if (violations.length) throw invalid('signal config', violations);
    }
    await prisma.experiment.update({ where: { id: e.id }, data: { signalConfig: text as string | null } });
    res.json(experimentView((await findExperiment(prisma, organizationId, e.id))!));
  });

  return r;
}
