-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN     "smtpFrom" TEXT;

