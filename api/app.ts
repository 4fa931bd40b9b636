/** The HTTP API: express 5, JSON in and out, every route below /v1 authenticated and org-scoped. */
import express from 'express';
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../prisma/client';
import type { ArtifactStore } from '../artifacts';
import type { TemporalSettings } from '../config';
import type { Keyring } from '../secrets/keyring';
import { secretRoutes } from './routes/secrets';
import { uploadRoutes } from './routes/uploads';
import { apiKeyRoutes } from './routes/apiKeys';
import { simulationRoutes } from './routes/simulations';
import { authenticate } from './auth';
import { sessionResolver, sessionRoutes } from './session';
import { dashboardRoutes } from './dashboard';
import { errorHandler, HttpError } from './errors';
import { guardInput, requireJsonBodies } from './inputGuard';
import { taskRoutes } from './routes/tasks';
import { environmentRoutes } from './routes/environments';
import { runRoutes } from './routes/runs';
import { externalRoutes } from './routes/external';
import { productRoutes } from './routes/products';
import { experimentRoutes } from './routes/experiments';
import { scheduleRoutes } from './routes/schedules';
import { webhookRoutes } from './routes/webhooks';
import { analysisRoutes } from './routes/analysis';

export interface ApiDeps {
  prisma: PrismaClient;
  temporal: Client;
  /** Where links to the Temporal Web UI point. */
  temporalUi: Pick<TemporalSettings, 'uiUrl' | 'namespace'>;
  taskQueue: string;
  maxConcurrentRuns: number;
  /** SIMLAB_ITERATION_HISTORY_EVENTS: an iteration continues as new at this history length (default 8000). */
  iterationHistoryEvents?: number;
  artifacts: ArtifactStore;
  /** Encrypts secrets as they are set; the API never decrypts one. */
  keyring: Keyring;
  /** SIMLAB_WEBHOOK_ALLOW_PRIVATE: webhook URLs may target loopback and private addresses. */
  webhookAllowPrivateTargets?: boolean;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requireJsonBodies([/^\/v1\/uploads$/]));
  app.use(express.json({ limit: '2mb' }));
  app.use(guardInput);
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  const v1 = express.Router();
  v1.use(authenticate(deps.prisma, {}, sessionResolver(deps.prisma)));
  v1.use(sessionRoutes(deps));
  v1.use(productRoutes(deps));
  v1.use(taskRoutes(deps));
  v1.use(environmentRoutes(deps));
  v1.use(runRoutes(deps));
  v1.use(externalRoutes(deps));
  v1.use(secretRoutes(deps));
  v1.use(uploadRoutes(deps));
  v1.use(apiKeyRoutes(deps));
  v1.use(simulationRoutes(deps));
  v1.use(experimentRoutes(deps));
  v1.use(scheduleRoutes(deps));
  v1.use(webhookRoutes(deps));
  v1.use(analysisRoutes(deps));
  app.use('/v1', v1);
  app.use(dashboardRoutes());
  app.use((req) => {
    throw new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler);
  return app;
}
