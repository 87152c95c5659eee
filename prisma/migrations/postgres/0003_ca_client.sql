-- CreateTable
CREATE TABLE "CaClient" (
    "id" INTEGER NOT NULL,
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
    "caSavedAt" TIMESTAMP(3),
    "configuredBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CaClient_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ClientRequest" (
    "id" TEXT NOT NULL,
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
    "submittedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submittedBy" TEXT,

    CONSTRAINT "ClientRequest_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ClientRequest_submittedAt_idx" ON "ClientRequest"("submittedAt");

