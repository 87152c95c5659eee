-- CreateTable
CREATE TABLE "CertificateRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "csrPem" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "commonName" TEXT,
    "sans" TEXT NOT NULL DEFAULT '[]',
    "keyLabel" TEXT NOT NULL,
    "sha1Fingerprint" TEXT NOT NULL,
    "sha256Fingerprint" TEXT NOT NULL,
    "contactName" TEXT NOT NULL,
    "contactPhone" TEXT,
    "contactEmail" TEXT,
    "hostname" TEXT,
    "instance" TEXT,
    "filename" TEXT NOT NULL,
    "receivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submitterIp" TEXT,
    "pendingKey" TEXT,
    "processedAt" DATETIME,
    "processedBy" TEXT,
    "certificateNumber" INTEGER
);

-- CreateTable
CREATE TABLE "Certificate" (
    "number" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "serial" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "usage" TEXT NOT NULL,
    "hostname" TEXT,
    "instance" TEXT,
    "filename" TEXT NOT NULL,
    "commonName" TEXT,
    "notBefore" DATETIME NOT NULL,
    "notAfter" DATETIME NOT NULL,
    "sha1Fingerprint" TEXT NOT NULL,
    "sha256Fingerprint" TEXT NOT NULL,
    "pem" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'valid',
    "contactName" TEXT NOT NULL,
    "contactEmail" TEXT,
    "issuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "issuedBy" TEXT NOT NULL,
    "verifiedBy" TEXT NOT NULL,
    "verifiedAt" DATETIME NOT NULL,
    "verifiedChannel" TEXT NOT NULL,
    "verifiedNote" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "CertificateRequest_pendingKey_key" ON "CertificateRequest"("pendingKey");

-- CreateIndex
CREATE INDEX "CertificateRequest_status_receivedAt_id_idx" ON "CertificateRequest"("status", "receivedAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Certificate_serial_key" ON "Certificate"("serial");

-- CreateIndex
CREATE UNIQUE INDEX "Certificate_requestId_key" ON "Certificate"("requestId");

-- CreateIndex
CREATE INDEX "Certificate_hostname_idx" ON "Certificate"("hostname");

-- CreateIndex
CREATE INDEX "Certificate_instance_idx" ON "Certificate"("instance");

-- CreateIndex
CREATE INDEX "Certificate_filename_idx" ON "Certificate"("filename");

