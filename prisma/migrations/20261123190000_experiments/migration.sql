-- Experiments: tasks x environments x variants x repeats, run as numbered iterations.
CREATE TABLE "Experiment" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "productId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "repeats" INTEGER NOT NULL DEFAULT 1,
    "signalConfig" TEXT,
    "lastIterationNumber" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "Experiment_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Experiment_organizationId_productId_createdAt_idx" ON "Experiment"("organizationId", "productId", "createdAt");
ALTER TABLE "Experiment" ADD CONSTRAINT "Experiment_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "Experiment" ADD CONSTRAINT "Experiment_productId_fkey" FOREIGN KEY ("productId") REFERENCES "Product"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentTask" (
    "experimentId" TEXT NOT NULL,
    "taskId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ExperimentTask_pkey" PRIMARY KEY ("experimentId","taskId")
);
CREATE INDEX "ExperimentTask_taskId_idx" ON "ExperimentTask"("taskId");
ALTER TABLE "ExperimentTask" ADD CONSTRAINT "ExperimentTask_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExperimentTask" ADD CONSTRAINT "ExperimentTask_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "Task"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentEnvironment" (
    "experimentId" TEXT NOT NULL,
    "environmentId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ExperimentEnvironment_pkey" PRIMARY KEY ("experimentId","environmentId")
);
CREATE INDEX "ExperimentEnvironment_environmentId_idx" ON "ExperimentEnvironment"("environmentId");
ALTER TABLE "ExperimentEnvironment" ADD CONSTRAINT "ExperimentEnvironment_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExperimentEnvironment" ADD CONSTRAINT "ExperimentEnvironment_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentVariant" (
    "id" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "override" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ExperimentVariant_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ExperimentVariant_experimentId_name_key" ON "ExperimentVariant"("experimentId", "name");
ALTER TABLE "ExperimentVariant" ADD CONSTRAINT "ExperimentVariant_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- An experiment's iterations are its history: it cannot be deleted from under them.
ALTER TABLE "Iteration" ADD CONSTRAINT "Iteration_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- What a run of an experiment was: its variant and repeat (null for ad hoc runs).
ALTER TABLE "Run" ADD COLUMN "variant" TEXT;
ALTER TABLE "Run" ADD COLUMN "repeat" INTEGER;
CREATE INDEX "Run_organizationId_environmentId_idx" ON "Run"("organizationId", "environmentId");
