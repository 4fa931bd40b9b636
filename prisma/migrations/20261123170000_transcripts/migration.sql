-- Usage, stop reason, workspace changes and the transcript's event counter.
ALTER TABLE "Run" ADD COLUMN "inputTokens" INTEGER,
ADD COLUMN "outputTokens" INTEGER,
ADD COLUMN "cacheReadTokens" INTEGER,
ADD COLUMN "cacheWriteTokens" INTEGER,
ADD COLUMN "agentTurns" INTEGER,
ADD COLUMN "toolCalls" INTEGER,
ADD COLUMN "costUsd" DOUBLE PRECISION,
ADD COLUMN "agentStopReason" TEXT,
ADD COLUMN "changes" JSONB,
ADD COLUMN "eventCount" INTEGER NOT NULL DEFAULT 0;

CREATE TABLE "RunEvent" (
    "runId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    CONSTRAINT "RunEvent_pkey" PRIMARY KEY ("runId","seq")
);
ALTER TABLE "RunEvent" ADD CONSTRAINT "RunEvent_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "AgentTurn" (
    "runId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "assistant" JSONB NOT NULL,
    "reply" JSONB,
    "usage" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AgentTurn_pkey" PRIMARY KEY ("runId","index")
);
ALTER TABLE "AgentTurn" ADD CONSTRAINT "AgentTurn_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "AgentToolCall" (
    "runId" TEXT NOT NULL,
    "toolUseId" TEXT NOT NULL,
    "turn" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "input" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "result" JSONB,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    CONSTRAINT "AgentToolCall_pkey" PRIMARY KEY ("runId","toolUseId")
);
ALTER TABLE "AgentToolCall" ADD CONSTRAINT "AgentToolCall_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;
