/** Start-up: migrate the database, create the first administrator from the environment, start the mail outbox. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startServer } = await import("./lib/startup.ts");
  await startServer();
}
