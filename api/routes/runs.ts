import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { workflowUiLink } from '../../config';
import { RUN_STATUSES, isTerminal, type RunStatus } from '../../domain/runLifecycle';
import { transitionRun } from '../../store/runStatus';
import { iterationProgress } from '../../store/iterations';
import { artifactKeys } from '../../artifacts';
import { readEvents } from '../../transcript/store';
import { actionsOf } from '../../transcript/actions';
import { principal } from '../auth';
import { HttpError, notFound } from '../errors';
import { findProduct } from '../tenancy';
import { RUN_SUMMARY_FIELDS, runDetailView, runSummaryView } from '../views';
import type { ApiDeps } from '../app';
import { intParam, pageParams, stringParam } from './params';

const encodeCursor = (r: { createdAt: Date; id: string }) => Buffer.from(`${r.createdAt.toISOString()}|${r.id}`).toString('base64url');

function decodeCursor(raw: string | undefined): { createdAt: Date; id: string } | null {
  if (raw === undefined) return null;
  const [at, id] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) throw new HttpError(400, 'validation_failed', 'cursor is not one this API returned', [{ pointer: '/cursor', message: 'must be a nextCursor from a previous page' }]);
  return { createdAt, id };
}

export function runRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  r.get('/products/:product/runs', async (req, res) => {
    const { organizationId } = principal(req);
    const product = await findProduct(prisma, organizationId, req.params.product);
    const status = stringParam(req.query.status);
    if (status && !(RUN_STATUSES as readonly string[]).includes(status)) {
      throw new HttpError(400, 'validation_failed', `unknown status '${status}'`, [
        { pointer: '/status', message: `must be one of: ${RUN_STATUSES.join(', ')}` },
      ]);
    }
    const taskId = stringParam(req.query.taskId);
    const iterationId = stringParam(req.query.iterationId);
    const environmentId = stringParam(req.query.environmentId);
    const after = decodeCursor(stringParam(req.query.cursor));
    const { limit } = pageParams(req.query);
    // Keyset pagination on (createdAt, id): one iteration's runs share a createdAt (one
    // transaction), so the id breaks ties and no run is skipped or shown twice.
    const runs = await prisma.run.findMany({
      where: {
        organizationId,
        productId: product.id,
        ...(status ? { status } : {}),
        ...(taskId ? { taskId } : {}),
        ...(iterationId ? { iterationId } : {}),
        ...(environmentId ? { environmentId } : {}),
        ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      select: RUN_SUMMARY_FIELDS,
    });
    const page = runs.slice(0, limit);
    const last = page[page.length - 1];
    res.json({ items: page.map(runSummaryView), nextCursor: runs.length > limit && last ? encodeCursor(last) : null });
  });

  r.get('/runs/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const view = await runDetailView(prisma, deps, organizationId, req.params.id);
    if (!view) throw notFound('run', req.params.id);
    res.json(view);
  });

  r.post('/runs/:id/cancel', async (req, res) => {
    const { organizationId } = principal(req);
    const run = await prisma.run.findFirst({ where: { id: req.params.id, organizationId }, select: { id: true, status: true, workflowId: true } });
    if (!run) throw notFound('run', req.params.id);
    if (isTerminal(run.status as RunStatus)) {
      throw new HttpError(409, 'run_finished', `run '${run.id}' has already ended (${run.status})`);
    }
    await prisma.run.updateMany({ where: { id: run.id, cancelRequestedAt: null }, data: { cancelRequestedAt: new Date() } });
    try {
      await deps.temporal.workflow.getHandle(run.workflowId).cancel();
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      // Still queued behind its iteration's concurrency window: no workflow yet, so the run
      // ends here, and its workflow, when the iteration reaches it, finds it already ended.
      const ended = await transitionRun(prisma, { runId: run.id, to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled before it started' } });
      // It may have ended otherwise meanwhile (its workflow started and finished): say what stands.
      if (ended.to !== 'cancelled') throw new HttpError(409, 'run_finished', `run '${run.id}' has already ended (${ended.to})`);
      res.status(200).json({ id: run.id, status: ended.to, cancelRequested: true });
      return;
    }
    res.status(202).json({ id: run.id, status: run.status, cancelRequested: true });
  });

  r.post('/iterations/:id/cancel', async (req, res) => {
    const { organizationId } = principal(req);
    const it = await prisma.iteration.findFirst({ where: { id: req.params.id, organizationId } });
    if (!it) throw notFound('iteration', req.params.id);
    if (it.finishedAt) throw new HttpError(409, 'iteration_finished', `iteration '${it.id}' has already ended (${it.status})`);
    // Its runs are cancelled by the workflow itself, each cleaning up its own sandbox.
    await prisma.run.updateMany({ where: { iterationId: it.id, cancelRequestedAt: null, status: { notIn: ['completed', 'failed', 'cancelled'] } }, data: { cancelRequestedAt: new Date() } });
    await deps.temporal.workflow.getHandle(it.workflowId).cancel();
    res.status(202).json({ id: it.id, status: it.status, cancelRequested: true });
  });

  // Answered from counts kept by the database, never by loading every run; the runs
  // themselves are paged through GET /products/:product/runs?iterationId=.
  r.get('/iterations/:id', async (req, res) => {
    const { organizationId } = principal(req);
    const it = await prisma.iteration.findFirst({ where: { id: req.params.id, organizationId }, include: { product: { select: { slug: true } } } });
    if (!it) throw notFound('iteration', req.params.id);
    const progress = await iterationProgress(prisma, it.id);
    res.json({
      id: it.id,
      productId: it.productId,
      product: it.product.slug,
      experimentId: it.experimentId,
      origin: it.origin ? { kind: it.origin, id: it.originId } : null,
      number: it.number,
      status: it.status,
      runCount: it.runCount,
      createdAt: it.createdAt.toISOString(),
      startedAt: it.startedAt?.toISOString() ?? null,
      finishedAt: it.finishedAt?.toISOString() ?? null,
      summary: { byStatus: progress.byStatus, ended: progress.ended, passed: progress.passed, failedVerdicts: progress.failedVerdicts, meanScore: progress.meanScore },
      temporal: { workflowId: it.workflowId, url: workflowUiLink(deps.temporalUi, it.workflowId) },
    });
  });

  // A run's artifacts, streamed from the artifact store, whichever worker produced them.
  const artifactRoute = (name: string, keyOf: (runId: string) => string, column: 'agentLogKey' | 'archiveKey', contentType: string, fileName: string) => {
    r.get(`/runs/:id/artifacts/${name}`, async (req, res) => {
      const { organizationId } = principal(req);
      const run = await prisma.run.findFirst({ where: { id: req.params.id, organizationId }, select: { id: true, agentLogKey: true, archiveKey: true } });
      if (!run) throw notFound('run', req.params.id);
      const key = run[column];
      const found = key === keyOf(run.id) ? await deps.artifacts.get(key) : null;
      if (!found) throw new HttpError(404, 'no_artifact', `run '${run.id}' has no ${name.replace('-', ' ')}`);
      res.setHeader('content-type', contentType);
      res.setHeader('content-length', String(found.bytes));
      res.setHeader('content-disposition', `attachment; filename="${run.id}-${fileName}"`);
      await pipeline(found.stream, res);
    });
  };
  // The transcript, page by page: `after` is the last seq the caller has.
  r.get('/runs/:id/events', async (req, res) => {
    const { organizationId } = principal(req);
    const run = await prisma.run.findFirst({ where: { id: req.params.id, organizationId }, select: { id: true, status: true } });
    if (!run) throw notFound('run', req.params.id);
    const after = intParam(req.query.after, 'after', 0, 1e9) ?? 0;
    const limit = intParam(req.query.limit, 'limit', 1, 1000) ?? 500;
    const items = await readEvents(prisma, run.id, { after, limit });
    res.json({ items, nextAfter: items.length ? items[items.length - 1]!.seq : after, ended: isTerminal(run.status as RunStatus) });
  });

  r.get('/runs/:id/actions', async (req, res) => {
    const { organizationId } = principal(req);
    const run = await prisma.run.findFirst({
      where: { id: req.params.id, organizationId },
      select: { id: true, environmentSnapshot: { select: { content: true } }, agentExitCode: true, agentStartedAt: true, createdAt: true },
    });
    if (!run) throw notFound('run', req.params.id);
    const events = await readEvents(prisma, run.id, { limit: 100_000, types: ['tool_call', 'tool_result', 'agent_message'] });
    const env = run.environmentSnapshot.content as { agent?: { harness?: string; command?: string } };
    const fallback = env.agent?.harness === 'command' && env.agent.command
      ? { command: env.agent.command, exitCode: run.agentExitCode, at: (run.agentStartedAt ?? run.createdAt).toISOString() }
      : undefined;
    res.json({ items: actionsOf(events, fallback) });
  });

  // The whole transcript as JSON lines (what `run download` saves).
  r.get('/runs/:id/artifacts/transcript', async (req, res) => {
    const { organizationId } = principal(req);
    const run = await prisma.run.findFirst({ where: { id: req.params.id, organizationId }, select: { id: true } });
    if (!run) throw notFound('run', req.params.id);
    res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('content-disposition', `attachment; filename="${run.id}-transcript.jsonl"`);
    for (let after = 0; ; ) {
      const page = await readEvents(prisma, run.id, { after, limit: 1000 });
      for (const e of page) res.write(`${JSON.stringify(e)}\n`);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.seq;
    }
    res.end();
  });

  artifactRoute('agent-log', artifactKeys.agentLog, 'agentLogKey', 'text/plain; charset=utf-8', 'agent.log');
  artifactRoute('archive', artifactKeys.homeArchive, 'archiveKey', 'application/gzip', 'home.tar.gz');

  return r;
}
