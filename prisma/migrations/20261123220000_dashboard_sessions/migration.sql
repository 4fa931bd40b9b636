-- Dashboard sign-ins: the cookie's token is never stored, only its sha256.
CREATE TABLE "DashboardSession" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "apiKeyId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DashboardSession_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "DashboardSession_apiKeyId_idx" ON "DashboardSession"("apiKeyId");
CREATE INDEX "DashboardSession_expiresAt_idx" ON "DashboardSession"("expiresAt");
