-- CreateTable
CREATE TABLE "CaClient" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "serverHost" TEXT NOT NULL,
    "serverPort" INTEGER NOT NULL,
    "serverPath" TEXT NOT NULL DEFAULT '/api/v1',
    "useTls" BOOLEAN NOT NULL DEFAULT false,
    "instanceName" TEXT NOT NULL,
    "hostname" TEXT,
    "contactName" TEXT NOT NULL,
    "contactPhone" TEXT,
    "contactEmail" TEXT,
    "caCertificatePem" TEXT,
    "caSha1Fingerprint" TEXT,
    "caFile" TEXT,
    "caSavedAt" DATETIME,
    "configuredBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ClientRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "fileNameRoot" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "sans" TEXT NOT NULL DEFAULT '[]',
    "keyAlgorithm" TEXT NOT NULL,
    "sha1Fingerprint" TEXT NOT NULL,
    "sha256Fingerprint" TEXT NOT NULL,
    "serverUrl" TEXT NOT NULL,
    "serverRequestId" TEXT,
    "keyFile" TEXT NOT NULL,
    "csrFile" TEXT NOT NULL,
    "keyEncrypted" BOOLEAN NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "submittedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submittedBy" TEXT
);

-- CreateIndex
CREATE INDEX "ClientRequest_submittedAt_idx" ON "ClientRequest"("submittedAt");

