-- Nightly schedules and regression-alert webhooks: who started an iteration, the
-- schedules Temporal runs, webhook targets with their sealed secrets, delivery attempts.
ALTER TABLE "Iteration" ADD COLUMN "origin" TEXT;
ALTER TABLE "Iteration" ADD COLUMN "originId" TEXT;
ALTER TABLE "Iteration" ADD COLUMN "launchKey" TEXT;
CREATE UNIQUE INDEX "Iteration_launchKey_key" ON "Iteration"("launchKey");

CREATE TABLE "ExperimentSchedule" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "cron" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ExperimentSchedule_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "ExperimentSchedule_experimentId_createdAt_idx" ON "ExperimentSchedule"("experimentId", "createdAt");
ALTER TABLE "ExperimentSchedule" ADD CONSTRAINT "ExperimentSchedule_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentWebhook" (
    "experimentId" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "iv" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "tag" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "ExperimentWebhook_pkey" PRIMARY KEY ("experimentId")
);
ALTER TABLE "ExperimentWebhook" ADD CONSTRAINT "ExperimentWebhook_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "iterationId" TEXT NOT NULL,
    "deliveryId" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "event" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "httpStatus" INTEGER,
    "error" TEXT,
    "durationMs" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "WebhookDelivery_deliveryId_attempt_key" ON "WebhookDelivery"("deliveryId", "attempt");
CREATE INDEX "WebhookDelivery_experimentId_createdAt_idx" ON "WebhookDelivery"("experimentId", "createdAt");
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
