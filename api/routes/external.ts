/**
 * The external harness's API: a client outside simlab drives a run's sandbox. Every
 * request is a Temporal update of the run's workflow (workflows/external.ts), so it is
 * durable, ordered with the run's own steps, and visible in its history.
 */
import { Router } from 'express';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isTerminal, type RunStatus } from '../../domain/runLifecycle';
import {
  EXTERNAL_ERRORS,
  base64Bytes,
  EXTERNAL_MAX_BASE64_CHARS,
  EXTERNAL_MAX_BYTES,
  externalCancel,
  externalComplete,
  externalExec,
  externalReadFile,
  externalScore,
  externalStateQuery,
  externalWriteFile,
  type ExternalState,
} from '../../workflows/external';
import { principal } from '../auth';
import { HttpError, notFound } from '../errors';
import type { ApiDeps } from '../app';

const STATUS_BY_TYPE: Record<string, { status: number; code: string }> = {
  [EXTERNAL_ERRORS.rejected]: { status: 409, code: 'not_accepted' },
  [EXTERNAL_ERRORS.invalid]: { status: 400, code: 'validation_failed' },
  [EXTERNAL_ERRORS.tooLarge]: { status: 413, code: 'too_large' },
  [EXTERNAL_ERRORS.notFound]: { status: 404, code: 'file_not_found' },
  [EXTERNAL_ERRORS.failed]: { status: 502, code: 'sandbox_error' },
};

type Body = Record<string, unknown>;

export function externalRoutes(deps: ApiDeps): Router {
  const r = Router();
  const { prisma } = deps;

  const findRun = async (organizationId: string, id: string) => {
    const run = await prisma.run.findFirst({ where: { id, organizationId }, select: { id: true, status: true, workflowId: true, score: true, passed: true } });
    if (!run) throw notFound('run', id);
    return run;
  };

  /** Runs one update, its failures told in the client's terms. */
  const update = async <T>(organizationId: string, runId: string, call: (h: ReturnType<ApiDeps['temporal']['workflow']['getHandle']>) => Promise<T>): Promise<T> => {
    const run = await findRun(organizationId, runId);
    if (isTerminal(run.status as RunStatus)) throw new HttpError(409, 'run_finished', `run '${run.id}' has already ended (${run.status})`);
    try {
      return await call(deps.temporal.workflow.getHandle(run.workflowId));
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        const type = cause instanceof ApplicationFailure ? cause.type : undefined;
        const mapped = (type ? STATUS_BY_TYPE[type] : undefined) ?? { status: 502, code: 'sandbox_error' };
        throw new HttpError(mapped.status, mapped.code, cause?.message ?? err.message);
      }
      // Not started (still queued behind its iteration), or ended since the check above.
      if ((err as Error).name === 'WorkflowNotFoundError') {
        const now = await findRun(organizationId, runId);
        throw isTerminal(now.status as RunStatus)
          ? new HttpError(409, 'run_finished', `run '${run.id}' has already ended (${now.status})`)
          : new HttpError(409, 'not_accepted', `run '${run.id}' is not ready: it is ${now.status}`);
      }
      throw err;
    }
  };

  const stringField = (body: Body, name: string, max: number): string => {
    const v = body[name];
    if (typeof v !== 'string' || !v || v.length > max) {
      throw new HttpError(400, 'validation_failed', `${name} must be a non-empty string of at most ${max} characters`, [{ pointer: `/${name}`, message: 'required string' }]);
    }
    return v;
  };
  const bodyOf = (req: { body?: unknown }): Body => (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Body) : {});

  r.get('/runs/:id/external', async (req, res) => {
    const { organizationId } = principal(req);
    const run = await findRun(organizationId, req.params.id);
    const status = run.status as RunStatus;
    let state: ExternalState;
    if (isTerminal(status) || status === 'queued') {
      // Nothing to ask a workflow that has not started or has closed: the database knows.
      state = {
        ready: false,
        scoring: false,
        scored: run.score !== null || run.passed !== null,
        ended: isTerminal(status),
        verdict: run.score !== null || run.passed !== null ? { score: run.score, passed: run.passed } : null,
        external: true,
        idleTimeoutSeconds: null,
      };
    } else {
      try {
        state = await deps.temporal.workflow.getHandle(run.workflowId).query(externalStateQuery);
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        state = { ready: false, scoring: false, scored: false, ended: false, verdict: null, external: true, idleTimeoutSeconds: null };
      }
    }
    // The status read after the query: a run that ended meanwhile says so.
    const now = await findRun(organizationId, run.id);
    res.json({ id: run.id, status: now.status, ...state, ...(isTerminal(now.status as RunStatus) ? { ended: true, ready: false } : {}) });
  });

  r.post('/runs/:id/external/exec', async (req, res) => {
    const { organizationId } = principal(req);
    const body = bodyOf(req);
    const command = stringField(body, 'command', 65536);
    const t = body.timeoutSeconds;
    if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t))) {
      throw new HttpError(400, 'validation_failed', 'timeoutSeconds must be an integer', [{ pointer: '/timeoutSeconds', message: 'integer' }]);
    }
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalExec, { args: [{ command, ...(t !== undefined ? { timeoutSeconds: t } : {}) }] }));
    res.json(out);
  });

  r.post('/runs/:id/external/write-file', async (req, res) => {
    const { organizationId } = principal(req);
    const body = bodyOf(req);
    const path = stringField(body, 'path', 4096);
    const content = body.contentBase64;
    if (typeof content !== 'string') throw new HttpError(400, 'validation_failed', 'contentBase64 must be a base64 string', [{ pointer: '/contentBase64', message: 'required string' }]);
    if (content.length > EXTERNAL_MAX_BASE64_CHARS || base64Bytes(content) > EXTERNAL_MAX_BYTES) {
      throw new HttpError(413, 'too_large', `the content is ${base64Bytes(content)} bytes: at most ${EXTERNAL_MAX_BYTES} bytes (1 MiB) may be written at once`);
    }
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalWriteFile, { args: [{ path, contentBase64: content }] }));
    res.json(out);
  });

  r.post('/runs/:id/external/read-file', async (req, res) => {
    const { organizationId } = principal(req);
    const path = stringField(bodyOf(req), 'path', 4096);
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalReadFile, { args: [{ path }] }));
    res.json(out);
  });

  r.post('/runs/:id/external/score', async (req, res) => {
    const { organizationId } = principal(req);
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalScore));
    res.status(202).json({ id: req.params.id, ...out });
  });

  r.post('/runs/:id/external/complete', async (req, res) => {
    const { organizationId } = principal(req);
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalComplete));
    res.json({ id: req.params.id, ...out });
  });

  r.post('/runs/:id/external/cancel', async (req, res) => {
    const { organizationId } = principal(req);
    const out = await update(organizationId, req.params.id, (h) => h.executeUpdate(externalCancel));
    res.json({ id: req.params.id, ...out });
  });

  return r;
}
