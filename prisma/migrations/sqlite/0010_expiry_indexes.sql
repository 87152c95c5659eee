-- CreateIndex
CREATE INDEX "CertificateRequest_renewalOf_idx" ON "CertificateRequest"("renewalOf");

-- CreateIndex
CREATE INDEX "Certificate_status_notAfter_number_idx" ON "Certificate"("status", "notAfter", "number");

