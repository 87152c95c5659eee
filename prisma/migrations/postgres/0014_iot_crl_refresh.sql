-- AlterTable
ALTER TABLE "IotCaCertificate" ADD COLUMN     "crlCheckedAt" TIMESTAMP(3),
ADD COLUMN     "crlError" TEXT;

