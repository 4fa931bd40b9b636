/**
 * A simlab worker process is two Temporal workers over one connection: one on the shared
 * task queue (workflows and database activities, any worker may take them) and one on
 * this Docker host's own queue (sandbox activities, which must run where the container is).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workflowsPath } from './workflowsPath';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PrismaClient } from '../prisma/client';
import { createRunActivities, createSandboxActivities } from '../activities';
import { createScheduleActivities } from '../activities/scheduleActivities';
import { createAlertActivities } from '../activities/alertActivities';
import type { RegressionSource } from '../schedules/regressionSummary';
import { storedRegressions } from '../schedules/storedRegressions';
import type { SandboxProvider } from '../sandbox';
import type { ArtifactStore } from '../artifacts';
import { claimQueue as claimQueueName, hostQueue as hostQueueName } from '../config';
import { HostSlots, runsGoneFrom } from './hostSlots';
import { createAnalysisActivities } from '../activities/analysisActivities';
import type { AnalysisModel } from '../analysis/model';
import type { Judge } from '../criteria/judge';
import type { Keyring } from '../secrets/keyring';
import type { PriceTable } from '../config/prices';

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  hostId: string;
  deploymentId: string;
  prisma: PrismaClient;
  sandboxes: SandboxProvider;
  artifacts: ArtifactStore;
  maxConcurrentRuns: number;
  judge?: Judge;
  keyring?: Keyring;
  anthropic?: { apiKey?: string; baseURL?: string };
  prices?: PriceTable;
  /** SIMLAB_WEBHOOK_ALLOW_PRIVATE: regression alerts may be posted to loopback and private addresses. */
  webhookAllowPrivateTargets?: boolean;
  /** Where regression alerts read an iteration's comparison (default: the stored results, analysis/compare.ts). */
  regressions?: RegressionSource;
  /** Prebuilt workflow bundle (tests share one); default: bundle workflows/ now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The model of rubric signals, friction points and failure clusters; none: deterministic analysis only. */
  analysisModel?: AnalysisModel;
  /** Sandboxes this Docker host runs at once (SIMLAB_HOST_SLOTS). */
  hostSlots: number;
}

/** The bundle built with dist/ (workers/bundleWorkflows.ts) when there is one, else bundle now (from the sources). */
function prebuiltBundle(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundled = path.join(path.dirname(workflowsPath()), '..', 'workflow-bundle.js');
  return __dirname.split(path.sep).includes('dist') && fs.existsSync(bundled) ? { workflowBundle: { codePath: bundled } } : { workflowsPath: workflowsPath() };
}

export interface SimlabWorkers {
  workers: Worker[];
  slots: HostSlots;
}

export async function createWorkers(s: WorkerSetup): Promise<SimlabWorkers> {
  const hostQueue = hostQueueName(s.taskQueue, s.hostId);
  const slots = new HostSlots(s.hostSlots, runsGoneFrom(s.prisma, s.hostId));
  // After a restart, the sandboxes this host still runs hold their slots from the start.
  for (const sandbox of await s.sandboxes.list({ hostId: s.hostId, deploymentId: s.deploymentId })) if (sandbox.runId) slots.hold(sandbox.runId);
  const runActivities = createRunActivities({ prisma: s.prisma, hostQueue, slots });
  const shared = await Worker.create({
    connection: s.connection,
    namespace: s.namespace,
    taskQueue: s.taskQueue,
    ...(s.workflowBundle ? { workflowBundle: s.workflowBundle } : prebuiltBundle()),
    activities: {
      ...runActivities,
      ...createScheduleActivities({ prisma: s.prisma, maxConcurrentRuns: s.maxConcurrentRuns }),
      ...createAlertActivities({
        prisma: s.prisma,
        ...(s.keyring ? { keyring: s.keyring } : {}),
        allowPrivateTargets: s.webhookAllowPrivateTargets ?? false,
        regressions: s.regressions ?? storedRegressions(s.prisma),
      }),
      ...createAnalysisActivities({ prisma: s.prisma, ...(s.analysisModel ? { model: s.analysisModel } : {}) }),
    },
    // Bounds database work only; which host takes a run is the claim queue's business.
    maxConcurrentActivityTaskExecutions: Math.max(4, s.maxConcurrentRuns * 2),
  });
  // A run claims a host here (prepareRun): this worker polls only while its host has a free
  // slot, so a full host takes nothing and the run waits in Temporal for a host with room.
  const claims = await Worker.create({
    connection: s.connection,
    namespace: s.namespace,
    taskQueue: claimQueueName(s.taskQueue),
    activities: { prepareRun: runActivities.prepareRun },
    tuner: {
      activityTaskSlotSupplier: slots.supplier(),
      workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
      nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
    },
  });
  const host = await Worker.create({
    connection: s.connection,
    namespace: s.namespace,
    taskQueue: hostQueue,
    activities: createSandboxActivities({
      prisma: s.prisma,
      sandboxes: s.sandboxes,
      artifacts: s.artifacts,
      hostId: s.hostId,
      deploymentId: s.deploymentId,
      ...(s.judge ? { judge: s.judge } : {}),
      ...(s.keyring ? { keyring: s.keyring } : {}),
      ...(s.anthropic ? { anthropic: s.anthropic } : {}),
      ...(s.prices ? { prices: s.prices } : {}),
      slots,
    }),
    // Each sandbox has at most a couple of steps at once (its step, and cleanup racing a cancel).
    maxConcurrentActivityTaskExecutions: s.hostSlots * 2 + 2,
    // A restart or deploy gives running activities time to finish their current step;
    // the agent step leaves its agent running and is resumed by the next attempt.
    shutdownGraceTime: '10s',
    // Heartbeats reach the server at least this often, whatever the heartbeat timeout:
    // cancellations are delivered on heartbeat responses.
    maxHeartbeatThrottleInterval: '2s',
  });
  return { workers: [shared, claims, host], slots };
}
