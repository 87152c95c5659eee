-- CreateTable
CREATE TABLE "IotCaCertificate" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "description" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "serial" TEXT NOT NULL,
    "pem" TEXT NOT NULL,
    "sha1Fingerprint" TEXT NOT NULL,
    "sha256Fingerprint" TEXT NOT NULL,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "crlUrls" TEXT NOT NULL DEFAULT '[]',
    "crlPem" TEXT,
    "crlFetchedAt" DATETIME,
    "crlNextUpdate" DATETIME,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT
);

-- CreateTable
CREATE TABLE "MessagingCertificate" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "sans" TEXT NOT NULL DEFAULT '[]',
    "keyAlgorithm" TEXT NOT NULL,
    "certificatePem" TEXT,
    "csrPem" TEXT,
    "privateKeyEnc" TEXT NOT NULL,
    "sha1Fingerprint" TEXT,
    "sha256Fingerprint" TEXT,
    "notBefore" DATETIME,
    "notAfter" DATETIME,
    "defaultSlot" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "createdBy" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "IotCaCertificate_sha256Fingerprint_key" ON "IotCaCertificate"("sha256Fingerprint");

-- CreateIndex
CREATE INDEX "IotCaCertificate_active_createdAt_idx" ON "IotCaCertificate"("active", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "MessagingCertificate_defaultSlot_key" ON "MessagingCertificate"("defaultSlot");

-- CreateIndex
CREATE INDEX "MessagingCertificate_kind_createdAt_idx" ON "MessagingCertificate"("kind", "createdAt");

