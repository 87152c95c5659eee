-- AlterTable
ALTER TABLE "CertificateRequest" ADD COLUMN "batchId" TEXT;

-- CreateIndex
CREATE INDEX "CertificateRequest_batchId_status_idx" ON "CertificateRequest"("batchId", "status");

