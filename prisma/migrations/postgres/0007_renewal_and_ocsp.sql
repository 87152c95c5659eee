-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN     "ocspCertificatePem" TEXT,
ADD COLUMN     "ocspKeyEnc" TEXT,
ADD COLUMN     "ocspNotAfter" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "CertificateRequest" ADD COLUMN     "renewalOf" INTEGER;

