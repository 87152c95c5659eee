-- DropIndex
DROP INDEX "Certificate_hostname_idx";

-- DropIndex
DROP INDEX "Certificate_instance_idx";

-- DropIndex
DROP INDEX "Certificate_filename_idx";

-- DropIndex
DROP INDEX "IotCaCertificate_active_createdAt_idx";

-- CreateIndex
CREATE INDEX "OutboxMessage_createdAt_id_idx" ON "OutboxMessage"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Certificate_hostname_number_idx" ON "Certificate"("hostname", "number");

-- CreateIndex
CREATE INDEX "Certificate_instance_number_idx" ON "Certificate"("instance", "number");

-- CreateIndex
CREATE INDEX "Certificate_filename_number_idx" ON "Certificate"("filename", "number");

-- CreateIndex
CREATE INDEX "IotCaCertificate_active_createdAt_id_idx" ON "IotCaCertificate"("active", "createdAt", "id");

-- CreateIndex
CREATE INDEX "IotCaCertificate_createdAt_id_idx" ON "IotCaCertificate"("createdAt", "id");

-- CreateIndex
CREATE INDEX "MessagingCertificate_createdAt_id_idx" ON "MessagingCertificate"("createdAt", "id");

-- CreateIndex
CREATE INDEX "AuditEntry_target_seq_idx" ON "AuditEntry"("target", "seq");

