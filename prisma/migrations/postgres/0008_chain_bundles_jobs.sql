-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN     "caChainPem" TEXT,
ADD COLUMN     "crlReminderFor" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "ClientRequest" ADD COLUMN     "spkiSha256" TEXT;

-- CreateTable
CREATE TABLE "JobLease" (
    "name" TEXT NOT NULL,
    "holder" TEXT,
    "leaseUntil" TIMESTAMP(3),
    "lastRunAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "JobLease_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "ExpiryWarning" (
    "certificateNumber" INTEGER NOT NULL,
    "thresholdDays" INTEGER NOT NULL,
    "sentAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExpiryWarning_pkey" PRIMARY KEY ("certificateNumber","thresholdDays")
);

-- CreateIndex
CREATE INDEX "ClientRequest_spkiSha256_idx" ON "ClientRequest"("spkiSha256");

