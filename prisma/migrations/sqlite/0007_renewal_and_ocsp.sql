-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN "ocspCertificatePem" TEXT;
ALTER TABLE "CaServer" ADD COLUMN "ocspKeyEnc" TEXT;
ALTER TABLE "CaServer" ADD COLUMN "ocspNotAfter" DATETIME;

-- AlterTable
ALTER TABLE "CertificateRequest" ADD COLUMN "renewalOf" INTEGER;

