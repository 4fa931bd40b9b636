/**
 * evaluating: where a criterion is checked against the post-run sandbox. Each evaluation
 * type has one checker; types without one are reported `not_evaluated`. The scoring math
 * itself is pure and lives in domain/scoring.
 */
import type Docker from 'dockerode';
import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../prisma/client';
import type { Criterion } from '../domain/contract';
import { EXECUTABLE_TYPES } from '../domain/contract';
import { scoreRun, type CriterionOutcome, type RunVerdict } from '../domain/scoring';
import { execCommand, shellArgv, AGENT_HOME } from './docker-exec';
import { containerName } from './sandbox';
import { truncate } from '../domain/text';
import type { RunRecord } from './runPlan';

const DEFAULT_CHECK_TIMEOUT_S = 300;
const EVIDENCE_LIMIT = 2000;

interface CheckContext {
  signal: AbortSignal;
}
type Checker = (container: Docker.Container, c: Criterion, ctx: CheckContext) => Promise<CriterionOutcome>;

const pass = (c: Criterion, evidence: string): CriterionOutcome => ({ status: 'evaluated', score: c.maxScore, evidence });
const fail = (evidence: string): CriterionOutcome => ({ status: 'evaluated', score: 0, evidence });

const CHECKERS: Partial<Record<Criterion['evaluationType'], Checker>> = {
  async bash_command(container, c, ctx) {
    const timeoutSeconds = c.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_S;
    const res = await execCommand(container, shellArgv(c.command!, c.workingDirectory ?? AGENT_HOME), { timeoutSeconds, ...ctx });
    const expected = c.expectedExitCode ?? 0;
    const out = res.output.trim() ? `\n${truncate(res.output.trim(), EVIDENCE_LIMIT, true)}` : '';
    if (res.timedOut) return fail(`timed out after ${timeoutSeconds}s${out}`);
    const head = `exit ${res.exitCode} (expected ${expected})`;
    return res.exitCode === expected ? pass(c, `${head}${out}`) : fail(`${head}${out}`);
  },

  async file_exists(container, c, ctx) {
    const res = await execCommand(container, ['/bin/sh', '-c', 'cd ~ && test -e "$1" && ls -ld -- "$1"', 'simlab', c.path!], {
      timeoutSeconds: 30,
      ...ctx,
    });
    if (res.timedOut) throw new Error(`file_exists check of ${c.path} timed out`);
    return res.exitCode === 0 ? pass(c, `found: ${res.output.trim()}`) : fail(`${c.path} does not exist`);
  },
};

async function evaluateCriterion(container: Docker.Container, c: Criterion, ctx: CheckContext): Promise<CriterionOutcome & { durationMs: number }> {
  const started = Date.now();
  const checker = EXECUTABLE_TYPES.has(c.evaluationType) ? CHECKERS[c.evaluationType] : undefined;
  if (!checker) {
    return { status: 'not_evaluated', score: null, evidence: `evaluation type '${c.evaluationType}' is not executable in this build yet`, durationMs: 0 };
  }
  const outcome = await checker(container, c, ctx);
  return { ...outcome, durationMs: Date.now() - started };
}

export async function evaluateRun(deps: { prisma: PrismaClient; docker: Docker }, run: RunRecord): Promise<Pick<RunVerdict, 'score' | 'passed'>> {
  const container = deps.docker.getContainer(containerName(run.id));
  const signal = Context.current().cancellationSignal;
  const outcomes: (CriterionOutcome & { durationMs: number })[][] = [];
  for (const goal of run.task.goals) {
    const row: (CriterionOutcome & { durationMs: number })[] = [];
    for (const c of goal.criteria) {
      row.push(await evaluateCriterion(container, c, { signal }));
    }
    outcomes.push(row);
  }
  const verdict = scoreRun(run.task.goals, outcomes);

  await deps.prisma.$transaction(async (tx) => {
    // A retried evaluation replaces the previous attempt's rows rather than adding to them.
    await tx.goalResult.deleteMany({ where: { runId: run.id } });
    for (const [gi, g] of verdict.goals.entries()) {
      await tx.goalResult.create({
        data: {
          runId: run.id,
          index: gi,
          name: g.name,
          scoringMethod: g.scoringMethod,
          passingThreshold: g.passingThreshold,
          score: g.score,
          passed: g.passed,
          criteria: {
            create: g.criteria.map((c, ci) => ({
              runId: run.id,
              index: ci,
              name: c.name,
              evaluationType: c.evaluationType,
              status: c.status,
              weight: c.weight,
              maxScore: c.maxScore,
              score: c.score,
              passed: c.passed,
              evidence: c.evidence,
              durationMs: outcomes[gi]![ci]!.durationMs,
            })),
          },
        },
      });
    }
    await tx.run.update({ where: { id: run.id }, data: { score: verdict.score, passed: verdict.passed } });
  });
  return { score: verdict.score, passed: verdict.passed };
}
