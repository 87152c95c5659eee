-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN "caChainPem" TEXT;
ALTER TABLE "CaServer" ADD COLUMN "crlReminderFor" DATETIME;

-- AlterTable
ALTER TABLE "ClientRequest" ADD COLUMN "spkiSha256" TEXT;

-- CreateTable
CREATE TABLE "JobLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT,
    "leaseUntil" DATETIME,
    "lastRunAt" DATETIME,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ExpiryWarning" (
    "certificateNumber" INTEGER NOT NULL,
    "thresholdDays" INTEGER NOT NULL,
    "sentAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("certificateNumber", "thresholdDays")
);

-- CreateIndex
CREATE INDEX "ClientRequest_spkiSha256_idx" ON "ClientRequest"("spkiSha256");

