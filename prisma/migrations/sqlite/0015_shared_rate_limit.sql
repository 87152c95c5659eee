-- CreateTable
CREATE TABLE "RateWindow" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "windowStart" DATETIME NOT NULL,
    "count" INTEGER NOT NULL
);

-- CreateIndex
CREATE INDEX "RateWindow_windowStart_idx" ON "RateWindow"("windowStart");

