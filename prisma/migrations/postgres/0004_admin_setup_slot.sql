-- AlterTable
ALTER TABLE "Admin" ADD COLUMN     "setupSlot" INTEGER;

-- CreateIndex
CREATE UNIQUE INDEX "Admin_setupSlot_key" ON "Admin"("setupSlot");

