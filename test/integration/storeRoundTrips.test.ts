/**
 * The store's few-round-trip paths, on PostgreSQL and on the embedded PGlite: a transcript
 * append is one statement and numbers events without gaps under concurrent writers (status
 * changes included); a status change is one statement that writes what the transaction
 * before it wrote, and decides again when another change got in first; snapshots are
 * stored in one statement at the same addresses as ever, and read through a process-wide
 * cache that hands every caller its own copy.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../prisma/generated/client';
import { Prisma } from '../../prisma/client';
import { openBenchDatabase, type BenchDatabase } from '../../bench/lib/database';
import { newId } from '../../domain/ids';
import { RunStateError } from '../../domain/errors';
import { canTransition, isTerminal, type RunStatus } from '../../domain/runLifecycle';
import { storable } from '../../domain/text';
import { forgetSnapshotContents, putSnapshots } from '../../store/snapshots';
import { loadRun } from '../../store/runs';
import { findRunAnalysis, frictionByIteration, iterationAnalyses, loadRunFacts, saveIterationResult, saveRunAnalysis } from '../../store/analysis';
import type { RunAnalysisDocument } from '../../analysis/types';
import { cancelQueuedRuns, transitionRun, type TransitionInput, type TransitionResult } from '../../store/runStatus';
import { appendEventsTx, transcriptWriter } from '../../transcript/store';
import type { NewEvent } from '../../transcript/types';
import { testEnv } from './env';

const TASK = { name: 'probe', category: 'coding', prompt: 'Écris « bonjour » — 🙂', goals: [{ name: 'g', criteria: [{ name: 'c', evaluationType: 'bash_command', command: 'true' }] }], initCommands: [], initFiles: [] };
const ENV = { name: 'e', agent: { harness: 'command', command: 'echo hi', env: { A: '1' } }, resources: { cpus: 1, memoryMb: 512 } };

describe.each(['postgres', 'embedded'] as const)('the store on %s', (kind) => {
  let db: BenchDatabase | undefined;
  let prisma: PrismaClient;
  let statements: string[] = [];
  let org: { organizationId: string; productId: string; taskId: string; environmentId: string; iterationId: string };

  /** The statements `fn` sent (Prisma's query log: no BEGIN or COMMIT). */
  async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; sql: string[] }> {
    statements = [];
    const value = await fn();
    const sql = statements;
    statements = [];
    return { value, sql };
  }

  /** A queued run's row, in the iteration and of the task given (default: the suite's). */
  async function runRows(count: number, o: { iterationId?: string; taskId?: string; task?: unknown; environment?: unknown } = {}): Promise<string[]> {
    const [taskSnapshotHash, environmentSnapshotHash] = await putSnapshots(prisma, [o.task ?? TASK, o.environment ?? ENV]);
    const ids = Array.from({ length: count }, () => newId('run'));
    await prisma.run.createMany({
      data: ids.map((id) => ({
        id,
        organizationId: org.organizationId,
        productId: org.productId,
        iterationId: o.iterationId ?? org.iterationId,
        taskId: o.taskId ?? org.taskId,
        environmentId: org.environmentId,
        workflowId: `simlab-run-${id}`,
        taskVersion: 1,
        environmentVersion: 1,
        taskSnapshotHash: taskSnapshotHash!,
        environmentSnapshotHash: environmentSnapshotHash!,
      })),
    });
    return ids;
  }

  async function newRun(task: unknown = TASK, environment: unknown = ENV): Promise<string> {
    return (await runRows(1, { task, environment }))[0]!;
  }

  beforeAll(async () => {
    let url = testEnv().databaseUrl;
    if (kind === 'embedded') {
      db = await openBenchDatabase('embedded');
      url = db.url;
    }
    const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 5 }), log: [{ emit: 'event', level: 'query' }] });
    client.$on('query', (e) => statements.push(e.query));
    prisma = client as unknown as PrismaClient;
    const s = newId('org').slice(4).toLowerCase();
    org = { organizationId: `org_${s}`, productId: `prd_${s}`, taskId: `task_${s}`, environmentId: `env_${s}`, iterationId: `iter_${s}` };
    await prisma.organization.create({ data: { id: org.organizationId, slug: `round-trips-${s}`, name: 'round trips', products: { create: { id: org.productId, slug: 'default', name: 'd' } } } });
    await prisma.task.create({ data: { id: org.taskId, organizationId: org.organizationId, productId: org.productId, name: 't', category: 'coding', definition: TASK } });
    await prisma.environment.create({ data: { id: org.environmentId, organizationId: org.organizationId, productId: org.productId, name: 'e', definition: ENV } });
    await prisma.iteration.create({ data: { id: org.iterationId, organizationId: org.organizationId, productId: org.productId, workflowId: `simlab-iteration-${org.iterationId}`, runCount: 0 } });
  });

  afterAll(async () => {
    if (org) await prisma.organization.delete({ where: { id: org.organizationId } }).catch(() => undefined);
    await prisma?.$disconnect();
    await db?.close();
  });

  describe('snapshots', () => {
    it('are stored in one statement, at the address the database computes from the jsonb text', async () => {
      const unique = newId('run');
      const contents = [
        { b: 1, a: [1, 2.5, 1e21, -0.0001, true, null], u: unique },
        { a: [1, 2.5, 1e21, -0.0001, true, null], b: 1, u: unique }, // the same jsonb value: the same address
        { text: 'quote " backslash \\ tab \t newline \n — 🙂 \u00e9', u: unique, nested: { deep: [{ x: {} }, []] } },
        'a string',
        [1, 'two', { three: 3 }],
        { b: 1, a: [1, 2.5, 1e21, -0.0001, true, null], u: unique }, // a repeat of the first
      ];
      const { value: hashes, sql } = await counted(() => putSnapshots(prisma, contents));
      expect(sql).toHaveLength(1);
      // The formula of the migration and of every earlier write: rows written before stay shared.
      for (const [i, c] of contents.entries()) {
        const [row] = await prisma.$queryRaw<{ hash: string }[]>`SELECT encode(sha256(convert_to(${JSON.stringify(c)}::jsonb::text, 'UTF8')), 'hex') AS hash`;
        expect(hashes[i]).toBe(row!.hash);
      }
      expect(hashes[1]).toBe(hashes[0]);
      expect(hashes[5]).toBe(hashes[0]);
      expect(new Set(hashes).size).toBe(4);
      const rows = await prisma.snapshot.findMany({ where: { hash: { in: hashes } } });
      expect(rows).toHaveLength(4);
      for (const [i, c] of contents.entries()) expect(rows.find((r) => r.hash === hashes[i])!.content).toEqual(c);
      // Stored again: nothing changes (and the immutability trigger is never reached).
      expect(await putSnapshots(prisma, contents)).toEqual(hashes);
      expect(await putSnapshots(prisma, [])).toEqual([]);
    });

    it('are read by loadRun from the cache: one query for the run, none for its snapshots once seen', async () => {
      forgetSnapshotContents();
      const runId = await newRun();
      const first = await counted(() => loadRun(prisma, runId));
      expect(first.sql).toHaveLength(2);
      expect(first.sql[1]).toMatch(/FROM "public"\."Snapshot" WHERE .*"hash" IN/);
      expect(first.value).toMatchObject({ id: runId, status: 'queued', iterationId: org.iterationId, taskId: org.taskId, environmentId: org.environmentId, cancelRequestedAt: null });
      expect(first.value.task).toEqual(TASK);
      expect(first.value.environment).toEqual(ENV);

      const again = await counted(() => loadRun(prisma, runId));
      expect(again.sql).toHaveLength(1);
      expect(again.sql[0]).toMatch(/FROM "public"\."Run"/);
      expect(again.value).toEqual(first.value);
      // Each caller has its own copy: what one changes, no other run or step sees.
      (first.value.environment.agent as { command?: string }).command = 'changed';
      first.value.task.goals.length = 0;
      const third = await loadRun(prisma, runId);
      expect(third.environment).toEqual(ENV);
      expect(third.task).toEqual(TASK);
      expect(third.task).not.toBe(again.value.task);

      // The analysis reads the same way.
      const facts = await counted(() => loadRunFacts(prisma, runId));
      expect(facts.sql.some((q) => q.includes('"Snapshot"'))).toBe(false);
      expect(facts.value).toMatchObject({ runId, taskPrompt: TASK.prompt, agentCommand: 'echo hi' });
    });

    it('are fetched together in one query, and a task and environment of equal content are still two objects', async () => {
      forgetSnapshotContents();
      const same = { same: newId('run') };
      const runId = await newRun(same, same);
      const { value, sql } = await counted(() => loadRun(prisma, runId));
      expect(sql).toHaveLength(2);
      expect(value.task).toEqual(same);
      expect(value.environment).toEqual(same);
      expect(value.task).not.toBe(value.environment);
      const other = await newRun({ t: newId('run') }, { e: newId('run') });
      const both = await counted(() => loadRun(prisma, other));
      expect(both.sql.filter((q) => q.includes('"Snapshot"'))).toHaveLength(1);
    });

    it('a run that does not exist is still a RunStateError', async () => {
      await expect(loadRun(prisma, 'run_missing')).rejects.toThrow(RunStateError);
    });
  });

  describe('analyses', () => {
    it('are stored and returned as stored in one statement; a second attempt gets the first one', async () => {
      const runId = await newRun();
      const doc = { runId, signals: { s: { value: 1.5, unused: undefined } }, friction: { source: 'deterministic', points: [] }, deterministicFriction: [], problems: [], model: null } as unknown as RunAnalysisDocument;
      const first = await counted(() => saveRunAnalysis(prisma, org.iterationId, doc));
      expect(first.sql).toHaveLength(1);
      // As the database holds it (what the read after the insert returned).
      expect(first.value).toEqual(await findRunAnalysis(prisma, runId));
      expect(first.value.signals).toEqual({ s: { value: 1.5 } });
      const second = await counted(() => saveRunAnalysis(prisma, org.iterationId, { ...doc, problems: ['another attempt'] }));
      expect(second.sql).toHaveLength(2);
      expect(second.value).toEqual(first.value);

      const result = { iterationId: org.iterationId, experimentId: null, number: 1, document: '{"first":true}' };
      const stored = await counted(() => saveIterationResult(prisma, result));
      expect(stored.sql).toHaveLength(1);
      expect(stored.value).toEqual({ iterationId: org.iterationId, number: 1, document: '{"first":true}', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(await saveIterationResult(prisma, { ...result, document: '{"second":true}' })).toEqual(stored.value);
    });

    it("are counted by the database for a task's history: per iteration, the task's analysed runs and their friction kinds", async () => {
      const otherTask = `${org.taskId}_other`;
      await prisma.task.create({ data: { id: otherTask, organizationId: org.organizationId, productId: org.productId, name: 't2', category: 'coding', definition: TASK } });
      const iterationIds = [newId('iter'), newId('iter'), newId('iter')];
      for (const [k, id] of iterationIds.entries()) {
        await prisma.iteration.create({ data: { id, organizationId: org.organizationId, productId: org.productId, workflowId: `simlab-iteration-${id}`, runCount: 0, number: 9000 + k } });
      }
      const kinds = ['auth', 'environment', 'retry_loop', 'auth'];
      const doc = (runId: string, points: string[]) =>
        ({ runId, signals: {}, friction: { source: 'deterministic', points: points.map((kind) => ({ kind, description: kind, seqs: [1] })) }, deterministicFriction: [], problems: [], model: null }) as unknown as RunAnalysisDocument;
      // Iteration 0: runs of the task with 0..4 points each, one unanalysed, and a run of another task.
      const mine = await runRows(6, { iterationId: iterationIds[0] });
      for (const [k, runId] of mine.slice(0, 5).entries()) await saveRunAnalysis(prisma, iterationIds[0]!, doc(runId, kinds.slice(0, k)));
      const [theirs] = await runRows(1, { iterationId: iterationIds[0], taskId: otherTask });
      await saveRunAnalysis(prisma, iterationIds[0]!, doc(theirs!, ['stall', 'stall']));
      // Iteration 1: analysed runs without friction; iteration 2: no analyses at all.
      for (const runId of await runRows(2, { iterationId: iterationIds[1] })) await saveRunAnalysis(prisma, iterationIds[1]!, doc(runId, []));
      await runRows(2, { iterationId: iterationIds[2] });

      // What the history computed before: from every analysis document of the task's runs.
      const expected = new Map<string, { analysedRuns: number; frictionKinds: Record<string, number> }>();
      for (const iterationId of iterationIds) {
        const runs = await prisma.run.findMany({ where: { iterationId, taskId: org.taskId }, select: { id: true } });
        const analyses = await iterationAnalyses(prisma, iterationId, runs.map((x) => x.id));
        const frictionKinds: Record<string, number> = {};
        for (const a of analyses.values()) for (const p of a.friction.points) frictionKinds[p.kind] = (frictionKinds[p.kind] ?? 0) + 1;
        if (analyses.size > 0) expected.set(iterationId, { analysedRuns: analyses.size, frictionKinds });
      }
      const { value, sql } = await counted(() => frictionByIteration(prisma, org.taskId, iterationIds));
      expect(sql).toHaveLength(2);
      expect(value).toEqual(expected);
      expect(value.get(iterationIds[0]!)).toEqual({ analysedRuns: 5, frictionKinds: { auth: 5, environment: 3, retry_loop: 2 } });
      expect(value.get(iterationIds[1]!)).toEqual({ analysedRuns: 2, frictionKinds: {} });
      expect(value.has(iterationIds[2]!)).toBe(false);
    });
  });

  describe('transcript appends', () => {
    it('are one statement, with their times, types and storable data as before', async () => {
      const runId = await newRun();
      const at = new Date('2026-01-02T03:04:05.678Z');
      const before = Date.now();
      const events: NewEvent[] = [
        { type: 'setup', at, data: { step: 'sandbox', text: 'nul \u0000 here', 'key\u0000': [1, { x: 'y\u0000' }], unicode: '🙂 é « »', quote: '"\\' } },
        { type: 'command_output', data: { text: 'one\n', offset: 0, bytes: 4 } },
        { type: 'error', data: { message: 'x', nested: { a: [null, true, 1.5] } } },
      ];
      const { sql } = await counted(() => transcriptWriter(prisma, runId).append(...events));
      expect(sql).toHaveLength(1);
      const rows = await prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' } });
      expect(rows.map((r) => [r.seq, r.type])).toEqual([
        [1, 'setup'],
        [2, 'command_output'],
        [3, 'error'],
      ]);
      expect(rows[0]!.at.toISOString()).toBe(at.toISOString());
      expect(rows[0]!.data).toEqual({ step: 'sandbox', text: 'nul \ufffd here', 'key\ufffd': [1, { x: 'y\ufffd' }], unicode: '🙂 é « »', quote: '"\\' });
      expect(rows[2]!.data).toEqual(events[2]!.data);
      // Without a time of its own, an event gets the time of its append (in UTC, like Prisma's default).
      expect(rows[1]!.at.getTime()).toBeGreaterThanOrEqual(before - 1);
      expect(rows[1]!.at.getTime()).toBeLessThanOrEqual(Date.now() + 1);
      expect((await prisma.run.findUniqueOrThrow({ where: { id: runId } })).eventCount).toBe(3);
      // Nothing to append: no statement at all.
      expect((await counted(() => transcriptWriter(prisma, runId).append())).sql).toHaveLength(0);
    });

    it('store exactly what the transaction of createMany stored', async () => {
      const [legacy, current] = [await newRun(), await newRun()];
      const at = new Date('2025-06-30T23:59:59.999Z');
      const batches: NewEvent[][] = [
        [{ type: 'status', at, data: { from: 'queued', to: 'creating_sandbox' } }],
        [
          { type: 'tool_call', at, data: { id: 't1', name: 'bash', input: { command: 'ls -la | grep "x"' } } },
          { type: 'tool_result', at, data: { id: 't1', name: 'bash', output: 'a\u0000b', isError: false, big: 2 ** 53 - 1, small: 1e-7 } },
        ],
      ];
      for (const events of batches) {
        // The previous implementation, verbatim.
        await prisma.$transaction(async (tx) => {
          const { eventCount } = await tx.run.update({ where: { id: legacy }, data: { eventCount: { increment: events.length } }, select: { eventCount: true } });
          const first = eventCount - events.length + 1;
          await tx.runEvent.createMany({ data: events.map((e, i) => ({ runId: legacy, seq: first + i, type: e.type, data: storable(e.data) as Prisma.InputJsonValue, ...(e.at ? { at: e.at } : {}) })) });
        });
        await transcriptWriter(prisma, current).append(...events);
      }
      const strip = (rows: { runId: string }[]) => rows.map(({ runId: _, ...r }) => r);
      const a = await prisma.runEvent.findMany({ where: { runId: legacy }, orderBy: { seq: 'asc' } });
      const b = await prisma.runEvent.findMany({ where: { runId: current }, orderBy: { seq: 'asc' } });
      expect(strip(b)).toEqual(strip(a));
      const text = (runId: string) => prisma.$queryRaw<{ t: string }[]>`SELECT "seq"::text || ' ' || "at"::text || ' ' || "type" || ' ' || "data"::text AS t FROM "RunEvent" WHERE "runId" = ${runId} ORDER BY "seq"`;
      expect(await text(current)).toEqual(await text(legacy));
    });

    it('number every event 1, 2, 3 … without gaps under concurrent writers, each append kept together and in order', async () => {
      const runId = await newRun();
      const writer = transcriptWriter(prisma, runId);
      const appends = Array.from({ length: 40 }, (_, a) => Array.from({ length: 1 + (a % 4) }, (_, i): NewEvent => ({ type: 'command_output', data: { a, i } })));
      const steps = ['creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'] as const;
      // Status changes number their event in their own statement while output is appended.
      const transitions = (async () => {
        for (const to of steps) await transitionRun(prisma, { runId, to });
      })();
      // And a caller's own transaction that rolls back leaves no event and no number behind.
      const rolledBack = prisma
        .$transaction(async (tx) => {
          await appendEventsTx(tx, runId, [{ type: 'error', data: { rolledBack: true } }]);
          throw new Error('roll back');
        })
        .catch((e: Error) => e.message);
      await Promise.all([...appends.map((events) => writer.append(...events)), transitions]);
      expect(await rolledBack).toBe('roll back');

      const rows = await prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' } });
      const total = appends.flat().length + steps.length;
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect((await prisma.run.findUniqueOrThrow({ where: { id: runId } })).eventCount).toBe(total);
      expect(rows.some((r) => (r.data as { rolledBack?: boolean }).rolledBack)).toBe(false);
      for (const [a, events] of appends.entries()) {
        const seqs = rows.filter((r) => r.type === 'command_output' && (r.data as { a: number }).a === a).map((r) => [r.seq, (r.data as { i: number }).i]);
        expect(seqs).toEqual(events.map((_, i) => [seqs[0]![0]! + i, i]));
      }
      expect(rows.filter((r) => r.type === 'status').map((r) => (r.data as { to: string }).to)).toEqual([...steps]);
    });

    it('to a run that does not exist fail, and insert nothing', async () => {
      const missing = newId('run');
      await expect(transcriptWriter(prisma, missing).append({ type: 'error', data: { message: 'x' } })).rejects.toThrow(/does not exist/);
      await expect(prisma.$transaction((tx) => appendEventsTx(tx, missing, [{ type: 'error', data: {} }]))).rejects.toThrow(/does not exist/);
      expect(await prisma.runEvent.count({ where: { runId: missing } })).toBe(0);
    });
  });

  describe('status transitions', () => {
    /** The previous implementation, verbatim: a transaction of four statements and BEGIN/COMMIT. */
    async function legacyTransitionRun(raw: TransitionInput): Promise<TransitionResult> {
      const input = storable(raw);
      return prisma.$transaction(async (tx) => {
        const run = await tx.run.findUnique({ where: { id: input.runId }, select: { status: true } });
        if (!run) throw new RunStateError(`run ${input.runId} does not exist`);
        const from = run.status as RunStatus;
        if (from === input.to) return { from, to: input.to, changed: false };
        if (isTerminal(from) && isTerminal(input.to)) return { from, to: from, changed: false };
        if (!canTransition(from, input.to)) {
          throw new RunStateError(`run ${input.runId} cannot go from ${from} to ${input.to}`);
        }
        const now = new Date();
        const updated = await tx.run.updateMany({
          where: { id: input.runId, status: from },
          data: {
            status: input.to,
            ...(from === 'queued' ? { startedAt: now } : {}),
            ...(isTerminal(input.to) ? { finishedAt: now } : {}),
            ...(input.failure ? { failureCategory: input.failure.category, failureMessage: input.failure.message.slice(0, 4000) } : {}),
          },
        });
        if (updated.count !== 1) throw new Error(`run ${input.runId} changed concurrently; retrying`);
        await tx.runStatusChange.create({
          data: { runId: input.runId, from, to: input.to, at: now, detail: input.detail ?? input.failure?.message.slice(0, 4000) ?? null },
        });
        await appendEventsTx(tx, input.runId, [
          { type: 'status', at: now, data: { from, to: input.to, ...(input.detail ? { detail: input.detail } : {}), ...(input.failure ? { failure: input.failure } : {}) } },
        ]);
        return { from, to: input.to, changed: true };
      });
    }

    /** `fn` with the clock (Date alone, timers stay real) stopped at `iso`. */
    async function stoppedAt<T>(iso: string, fn: () => Promise<T>): Promise<T> {
      jest.useFakeTimers({
        now: new Date(iso),
        doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      });
      try {
        return await fn();
      } finally {
        jest.useRealTimers();
      }
    }

    type Settled<T> = { value: T } | { error: string };
    const settle = <T>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ value }), (e: Error) => ({ error: `${e.name}: ${e.message}` }));

    /** A run's rows as text, as the database holds them (times to the millisecond, jsonb as stored). */
    async function stored(runId: string) {
      const [run] = await prisma.$queryRaw<Record<string, unknown>[]>`
        SELECT "status", "startedAt"::text AS "startedAt", "finishedAt"::text AS "finishedAt", "failureCategory", "failureMessage", "eventCount"
        FROM "Run" WHERE "id" = ${runId}`;
      const changes = await prisma.$queryRaw<{ t: string }[]>`
        SELECT coalesce("from", '-') || ' ' || "to" || ' ' || "at"::text || ' ' || coalesce("detail", '<null>') AS t FROM "RunStatusChange" WHERE "runId" = ${runId} ORDER BY "id"`;
      const events = await prisma.$queryRaw<{ t: string }[]>`
        SELECT "seq"::text || ' ' || "at"::text || ' ' || "type" || ' ' || "data"::text AS t FROM "RunEvent" WHERE "runId" = ${runId} ORDER BY "seq"`;
      return { run, changes: changes.map((r) => r.t), events: events.map((r) => r.t) };
    }

    /** The iteration's counts, kept by the triggers on "Run", are those of its runs. */
    async function expectCountsRight(): Promise<void> {
      const kept = await prisma.$queryRaw<unknown[]>`
        SELECT "status", "runs", "passed", "failedVerdicts", "scored" FROM "IterationRunCount"
        WHERE "iterationId" = ${org.iterationId} AND "runs" <> 0 ORDER BY "status"`;
      const actual = await prisma.$queryRaw<unknown[]>`
        SELECT "status", count(*)::int AS "runs", (count(*) FILTER (WHERE "passed" IS TRUE))::int AS "passed",
               (count(*) FILTER (WHERE "passed" IS FALSE))::int AS "failedVerdicts", count("score")::int AS "scored"
        FROM "Run" WHERE "iterationId" = ${org.iterationId} GROUP BY "status" ORDER BY "status"`;
      expect(kept).toEqual(actual);
    }

    it('are one statement each, and store exactly what the transaction before them stored', async () => {
      const long = `checker said \u0000: ${'x'.repeat(5000)}`;
      const scenarios: Omit<TransitionInput, 'runId'>[][] = [
        [
          { to: 'creating_sandbox', detail: 'on host h1 — « é » 🙂' },
          { to: 'running' },
          { to: 'analyzing' }, // not the next step: a RunStateError, nothing written
          { to: 'evaluating', detail: '' },
          { to: 'failed', failure: { category: 'evaluation', message: long } },
          { to: 'cancelled', failure: { category: 'cancelled', message: 'late' } }, // the first ending stands
          { to: 'failed', failure: { category: 'infra', message: 'again' } },
          { to: 'running' },
        ],
        [{ to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled before it started' } }],
        [{ to: 'creating_sandbox' }, { to: 'running' }, { to: 'running' }, { to: 'evaluating' }, { to: 'analyzing' }, { to: 'completed' }, { to: 'completed' }],
        [{ to: 'running' }, { to: 'creating_sandbox' }, { to: 'failed', detail: 'the detail wins', failure: { category: 'infra', message: 'docker \u0000 is gone' } }],
        [{ to: 'creating_sandbox' }, { to: 'cancelled', detail: 'asked by someone' }],
      ];
      let clock = Date.parse('2026-03-04T05:06:07.001Z');
      for (const steps of scenarios) {
        const [legacy, current] = [await newRun(), await newRun()];
        for (const step of steps) {
          clock += 1234;
          const iso = new Date(clock).toISOString();
          // The transcript goes on between steps: status events are numbered after it.
          await transcriptWriter(prisma, legacy).append({ type: 'command_output', at: new Date(clock - 1), data: { step: step.to } });
          await transcriptWriter(prisma, current).append({ type: 'command_output', at: new Date(clock - 1), data: { step: step.to } });
          const before = await stoppedAt(iso, () => settle(legacyTransitionRun({ runId: legacy, ...step })));
          const after = await stoppedAt(iso, () => counted(() => settle(transitionRun(prisma, { runId: current, ...step }))));
          expect(after.sql).toHaveLength(1);
          expect(JSON.stringify(after.value).replaceAll(current, 'RUN')).toBe(JSON.stringify(before).replaceAll(legacy, 'RUN'));
        }
        expect(await stored(current)).toEqual(await stored(legacy));
      }
      // What the first scenario wrote, spelled out.
      const [first] = await prisma.run.findMany({ where: { iterationId: org.iterationId, failureCategory: 'evaluation' }, orderBy: { createdAt: 'desc' }, take: 1 });
      expect(first).toMatchObject({ status: 'failed', failureMessage: long.replace('\u0000', '\ufffd').slice(0, 4000) });
      expect(first!.startedAt!.toISOString()).toBe('2026-03-04T05:06:08.235Z');
      expect(first!.finishedAt!.toISOString()).toBe(new Date(Date.parse('2026-03-04T05:06:07.001Z') + 5 * 1234).toISOString());
      const ended = await prisma.runEvent.findFirstOrThrow({ where: { runId: first!.id, type: 'status', data: { path: ['to'], equals: 'failed' } } });
      expect(ended.data).toEqual({ from: 'evaluating', to: 'failed', failure: { category: 'evaluation', message: long.replace('\u0000', '\ufffd') } });
      await expectCountsRight();
    });

    it('of a run that does not exist, or against the lifecycle, are a RunStateError and write nothing', async () => {
      const missing = newId('run');
      const lost = await counted(() => settle(transitionRun(prisma, { runId: missing, to: 'running' })));
      expect(lost.sql).toHaveLength(1);
      expect(lost.value).toEqual({ error: `RunStateError: run ${missing} does not exist` });
      await expect(transitionRun(prisma, { runId: missing, to: 'cancelled' })).rejects.toBeInstanceOf(RunStateError);
      expect(await prisma.runStatusChange.count({ where: { runId: missing } })).toBe(0);
      expect(await prisma.runEvent.count({ where: { runId: missing } })).toBe(0);

      const runId = await newRun();
      await expect(transitionRun(prisma, { runId, to: 'running' })).rejects.toThrow(new RunStateError(`run ${runId} cannot go from queued to running`));
      await expect(transitionRun(prisma, { runId, to: 'bogus' as RunStatus })).rejects.toThrow(RunStateError);
      expect(await stored(runId)).toEqual({ run: { status: 'queued', startedAt: null, finishedAt: null, failureCategory: null, failureMessage: null, eventCount: 0 }, changes: [], events: [] });
      for (const to of ['creating_sandbox', 'running', 'evaluating', 'analyzing', 'completed'] as const) await transitionRun(prisma, { runId, to });
      const done = await stored(runId);
      await expect(transitionRun(prisma, { runId, to: 'running' })).rejects.toThrow(new RunStateError(`run ${runId} cannot go from completed to running`));
      expect(await transitionRun(prisma, { runId, to: 'completed' })).toEqual({ from: 'completed', to: 'completed', changed: false });
      expect(await transitionRun(prisma, { runId, to: 'failed', failure: { category: 'infra', message: 'x' } })).toEqual({ from: 'completed', to: 'completed', changed: false });
      expect(await stored(runId)).toEqual(done);
      await expectCountsRight();
    });

    it('decide again when another change is committed between their read and their row lock', async () => {
      const runId = await newRun();
      for (const to of ['creating_sandbox', 'running'] as const) await transitionRun(prisma, { runId, to });
      // Another connection holds the run's row and moves it on, while a cancel waits for it.
      const other = new PrismaClient({ adapter: new PrismaPg({ connectionString: kind === 'embedded' ? db!.url : testEnv().databaseUrl, max: 2 }) });
      try {
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let holder!: number;
        const locked = new Promise<void>((ready) => {
          void other
            .$transaction(async (tx) => {
              const [me] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid FROM "Run" WHERE "id" = ${runId} FOR UPDATE`;
              holder = me!.pid;
              ready();
              await released;
              await tx.run.update({ where: { id: runId }, data: { status: 'evaluating' } });
              await tx.runStatusChange.create({ data: { runId, from: 'running', to: 'evaluating' } });
              await appendEventsTx(tx, runId, [{ type: 'status', data: { from: 'running', to: 'evaluating' } }]);
            })
            .catch(release);
        });
        await locked;
        const cancel = counted(() => transitionRun(prisma, { runId, to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled' } }));
        if (kind === 'postgres') {
          // The cancel has read "running" and waits for the row.
          for (let waited = 0; ; waited += 20) {
            const [w] = await other.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${holder}::int = ANY(pg_blocking_pids(pid))`;
            if (w!.n > 0) break;
            if (waited > 10000) throw new Error('the cancel never waited for the row');
            await new Promise((r) => setTimeout(r, 20));
          }
        } else {
          // One session underneath: the cancel waits for the whole transaction instead.
          await new Promise((r) => setTimeout(r, 100));
        }
        release();
        const { value, sql } = await cancel;
        expect(value).toEqual({ from: 'evaluating', to: 'cancelled', changed: true });
        // On PostgreSQL it lost the race once and read again; PGlite never interleaves them.
        expect(sql).toHaveLength(kind === 'postgres' ? 2 : 1);
      } finally {
        await other.$disconnect();
      }
      const { run, changes, events } = await stored(runId);
      expect(run).toMatchObject({ status: 'cancelled', failureCategory: 'cancelled', eventCount: 4 });
      expect(changes.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['queued creating_sandbox', 'creating_sandbox running', 'running evaluating', 'evaluating cancelled']);
      expect(events.map((e) => e.split(' ')[0])).toEqual(['1', '2', '3', '4']);
      await expectCountsRight();
    });

    it('racing each other (a cancel, a failure, the next step) end every run exactly once, with gapless events', async () => {
      const runs = await Promise.all(Array.from({ length: 12 }, () => newRun()));
      await Promise.all(runs.map(async (runId) => {
        for (const to of ['creating_sandbox', 'running'] as const) await transitionRun(prisma, { runId, to });
      }));
      const outcomes = await Promise.all(
        runs.map(async (runId, i) => {
          const writer = transcriptWriter(prisma, runId);
          const calls = [
            settle(transitionRun(prisma, { runId, to: 'evaluating' })),
            settle(transitionRun(prisma, { runId, to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled' } })),
            settle(transitionRun(prisma, { runId, to: 'failed', failure: { category: 'agent', message: `the agent failed (${i})` } })),
          ];
          // The order of the calls differs from run to run.
          if (i % 2) calls.reverse();
          const appended = Array.from({ length: 3 }, (_, a) => writer.append({ type: 'command_output', data: { a } }));
          const settled = await Promise.all(calls);
          await Promise.all(appended);
          return i % 2 ? settled.reverse() : settled;
        }),
      );
      for (const [i, runId] of runs.entries()) {
        const [next, cancel, fail] = [0, 1, 2].map((k) => outcomes[i]![k]!) as [Settled<TransitionResult>, Settled<TransitionResult>, Settled<TransitionResult>];
        const { run, changes } = await stored(runId);
        const status = run!.status as RunStatus;
        expect(['cancelled', 'failed']).toContain(status);
        const endings = [cancel, fail].map((o) => ('value' in o ? o.value : o.error));
        // One ending was written; the other learnt that it stands.
        expect(endings.filter((e) => typeof e === 'object' && e.changed)).toHaveLength(1);
        for (const e of endings) expect(e).toEqual(expect.objectContaining({ to: status }));
        expect(run!.failureCategory).toBe(status === 'cancelled' ? 'cancelled' : 'agent');
        // The next step was taken before the ending, or refused after it.
        const evaluated = 'value' in next;
        if (evaluated) expect(next.value).toEqual({ from: 'running', to: 'evaluating', changed: true });
        else expect(next.error).toBe(`RunStateError: run ${runId} cannot go from ${status} to evaluating`);
        const chain = ['queued', 'creating_sandbox', 'running', ...(evaluated ? ['evaluating'] : []), status];
        expect(changes.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(chain.slice(1).map((to, k) => `${chain[k]} ${to}`));
        const rows = await prisma.runEvent.findMany({ where: { runId }, orderBy: { seq: 'asc' } });
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: chain.length - 1 + 3 }, (_, k) => k + 1));
        expect(run!.eventCount).toBe(rows.length);
        const statusEvents = rows.filter((r) => r.type === 'status');
        expect(statusEvents.map((r) => `${(r.data as { from: string }).from} ${(r.data as { to: string }).to}`)).toEqual(changes.map((c) => c.split(' ').slice(0, 2).join(' ')));
      }
      await expectCountsRight();
    });

    describe("an iteration's cancel of its queued runs", () => {
      /** The previous implementation, verbatim: a transaction with a transcript append per run. */
      async function legacyCancelQueuedRuns(iterationId: string): Promise<number> {
        return prisma.$transaction(async (tx) => {
          const queued = await tx.run.findMany({ where: { iterationId, status: 'queued' }, select: { id: true } });
          if (queued.length === 0) return 0;
          const ids = queued.map((r) => r.id);
          const message = 'the iteration was cancelled before this run started';
          const now = new Date();
          const { count } = await tx.run.updateMany({
            where: { id: { in: ids }, status: 'queued' },
            data: { status: 'cancelled', finishedAt: now, failureCategory: 'cancelled', failureMessage: message },
          });
          if (count !== ids.length) throw new Error(`iteration ${iterationId}: runs changed concurrently; retrying`);
          await tx.runStatusChange.createMany({ data: ids.map((runId) => ({ runId, from: 'queued', to: 'cancelled', at: now, detail: message })) });
          for (const runId of ids) {
            await appendEventsTx(tx, runId, [{ type: 'status', at: now, data: { from: 'queued', to: 'cancelled', failure: { category: 'cancelled', message } } }]);
          }
          return count;
        });
      }

      let iterations = 1;
      async function newIteration(runCount: number): Promise<{ iterationId: string; runIds: string[] }> {
        const iterationId = newId('iter');
        // Ad hoc iterations of one product are numbered apart too (a unique index, nulls not distinct).
        iterations += 1;
        await prisma.iteration.create({ data: { id: iterationId, organizationId: org.organizationId, productId: org.productId, workflowId: `simlab-iteration-${iterationId}`, runCount, number: iterations } });
        const runIds = await runRows(runCount, { iterationId });
        return { iterationId, runIds };
      }

      /** Every run of the iteration: queued ones that had a transcript, one that started, one that ended, and plain queued ones. */
      async function shape(runIds: string[]): Promise<void> {
        await transcriptWriter(prisma, runIds[0]!).append({ type: 'command_output', at: new Date('2026-03-04T05:00:00.000Z'), data: { early: true } }, { type: 'error', data: { n: 2 } });
        await transitionRun(prisma, { runId: runIds[1]!, to: 'creating_sandbox', detail: 'on host h1' });
        await transitionRun(prisma, { runId: runIds[2]!, to: 'cancelled', failure: { category: 'cancelled', message: 'cancelled on its own' } });
      }

      async function iterationCounts(iterationId: string) {
        const kept = await prisma.$queryRaw<unknown[]>`
          SELECT "status", "runs" FROM "IterationRunCount" WHERE "iterationId" = ${iterationId} AND "runs" <> 0 ORDER BY "status"`;
        const actual = await prisma.$queryRaw<unknown[]>`
          SELECT "status", count(*)::int AS "runs" FROM "Run" WHERE "iterationId" = ${iterationId} GROUP BY "status" ORDER BY "status"`;
        return { kept, actual };
      }

      it('is one statement that stores exactly what the transaction before it stored, and leaves started and ended runs alone', async () => {
        const legacy = await newIteration(6);
        const current = await newIteration(6);
        await stoppedAt('2026-03-04T06:00:00.123Z', () => shape(legacy.runIds));
        await stoppedAt('2026-03-04T06:00:00.123Z', () => shape(current.runIds));
        const before = await stoppedAt('2026-03-04T06:07:08.009Z', () => legacyCancelQueuedRuns(legacy.iterationId));
        const after = await stoppedAt('2026-03-04T06:07:08.009Z', () => counted(() => cancelQueuedRuns(prisma, current.iterationId)));
        expect(after.sql).toHaveLength(1);
        expect(after.value).toBe(before);
        expect(after.value).toBe(4);
        for (let i = 0; i < 6; i++) expect(await stored(current.runIds[i]!)).toEqual(await stored(legacy.runIds[i]!));
        // The run with a transcript got its status event after it; the started one kept its status.
        const first = await stored(current.runIds[0]!);
        expect(first.run).toMatchObject({ status: 'cancelled', failureCategory: 'cancelled', eventCount: 3 });
        expect(first.events[2]).toMatch(/^3 2026-03-04 06:07:08.009.* status \{"to": "cancelled", "from": "queued", "failure": \{"message": "the iteration was cancelled before this run started", "category": "cancelled"\}\}$/);
        expect((await stored(current.runIds[1]!)).run).toMatchObject({ status: 'creating_sandbox', eventCount: 1 });
        expect((await stored(current.runIds[2]!)).changes).toEqual([expect.stringMatching(/^queued cancelled .* cancelled on its own$/)]);
        // Nothing left to cancel: a retried activity writes nothing.
        const again = await counted(() => cancelQueuedRuns(prisma, current.iterationId));
        expect(again.value).toBe(0);
        expect(await stored(current.runIds[3]!)).toEqual(await stored(legacy.runIds[3]!));
        const counts = await iterationCounts(current.iterationId);
        expect(counts.kept).toEqual(counts.actual);
      });

      it('ends 3,000 queued runs in one statement, each with one history row and one event', async () => {
        const big = await newIteration(3000);
        await shape(big.runIds);
        const done = await counted(() => cancelQueuedRuns(prisma, big.iterationId));
        expect(done.sql).toHaveLength(1);
        expect(done.value).toBe(2998);
        const [check] = await prisma.$queryRaw<{ runs: number; cancelled: number; changes: number; events: number; numbered: number }[]>`
          SELECT count(*)::int AS "runs",
                 (count(*) FILTER (WHERE r."status" = 'cancelled'))::int AS "cancelled",
                 (SELECT count(*)::int FROM "RunStatusChange" c JOIN "Run" x ON x."id" = c."runId" WHERE x."iterationId" = ${big.iterationId} AND c."to" = 'cancelled') AS "changes",
                 (SELECT count(*)::int FROM "RunEvent" e JOIN "Run" x ON x."id" = e."runId" WHERE x."iterationId" = ${big.iterationId} AND e."type" = 'status' AND e."data"->>'to' = 'cancelled') AS "events",
                 (count(*) FILTER (WHERE r."eventCount" = (SELECT max(e."seq") FROM "RunEvent" e WHERE e."runId" = r."id")))::int AS "numbered"
          FROM "Run" r WHERE r."iterationId" = ${big.iterationId}`;
        expect(check).toEqual({ runs: 3000, cancelled: 2999, changes: 2999, events: 2999, numbered: 3000 });
        const counts = await iterationCounts(big.iterationId);
        expect(counts.kept).toEqual(counts.actual);
      });
    });
  });
});
