-- AlterTable
ALTER TABLE "Certificate" ADD COLUMN "revocationReason" TEXT;
ALTER TABLE "Certificate" ADD COLUMN "revokedAt" DATETIME;
ALTER TABLE "Certificate" ADD COLUMN "revokedBy" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_CaServer" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "fileNameRoot" TEXT NOT NULL,
    "directory" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "keyAlgorithm" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "caValidityDays" INTEGER,
    "issuedValidityDays" INTEGER NOT NULL,
    "smtpHost" TEXT,
    "smtpPort" INTEGER,
    "smtpSecure" BOOLEAN NOT NULL DEFAULT false,
    "smtpUsername" TEXT,
    "smtpPasswordEnc" TEXT,
    "adminEmail" TEXT NOT NULL,
    "certificatePem" TEXT NOT NULL,
    "sha1Fingerprint" TEXT NOT NULL,
    "sha256Fingerprint" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "nextNumber" INTEGER NOT NULL DEFAULT 1,
    "crlNumber" INTEGER NOT NULL DEFAULT 0,
    "crlPem" TEXT,
    "crlThisUpdate" DATETIME,
    "crlNextUpdate" DATETIME,
    "crlNextUpdateDays" INTEGER NOT NULL DEFAULT 7,
    "configuredBy" TEXT,
    "resultMessage" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_CaServer" ("adminEmail", "caValidityDays", "certificatePem", "configuredBy", "createdAt", "directory", "fileNameRoot", "id", "issuedValidityDays", "keyAlgorithm", "mode", "nextNumber", "notAfter", "notBefore", "resultMessage", "sha1Fingerprint", "sha256Fingerprint", "smtpHost", "smtpPasswordEnc", "smtpPort", "smtpSecure", "smtpUsername", "subject", "updatedAt") SELECT "adminEmail", "caValidityDays", "certificatePem", "configuredBy", "createdAt", "directory", "fileNameRoot", "id", "issuedValidityDays", "keyAlgorithm", "mode", "nextNumber", "notAfter", "notBefore", "resultMessage", "sha1Fingerprint", "sha256Fingerprint", "smtpHost", "smtpPasswordEnc", "smtpPort", "smtpSecure", "smtpUsername", "subject", "updatedAt" FROM "CaServer";
DROP TABLE "CaServer";
ALTER TABLE "new_CaServer" RENAME TO "CaServer";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

