-- AlterTable
ALTER TABLE "IotCaCertificate" ADD COLUMN "crlCheckedAt" DATETIME;
ALTER TABLE "IotCaCertificate" ADD COLUMN "crlError" TEXT;

