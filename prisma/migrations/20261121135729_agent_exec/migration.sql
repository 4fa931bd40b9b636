-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "agentExecId" TEXT,
ADD COLUMN     "agentStartedAt" TIMESTAMP(3);
