-- AlterTable
ALTER TABLE "CaServer" ADD COLUMN     "crlNextUpdate" TIMESTAMP(3),
ADD COLUMN     "crlNextUpdateDays" INTEGER NOT NULL DEFAULT 7,
ADD COLUMN     "crlNumber" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "crlPem" TEXT,
ADD COLUMN     "crlThisUpdate" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Certificate" ADD COLUMN     "revocationReason" TEXT,
ADD COLUMN     "revokedAt" TIMESTAMP(3),
ADD COLUMN     "revokedBy" TEXT;

