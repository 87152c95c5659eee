/**
 * A local mail catcher: SMTP on 127.0.0.1:$SMTP_PORT (default 2525) and the received
 * messages as JSON on http://127.0.0.1:$HTTP_PORT/messages (default 2580).
 * For end-to-end tests and for trying Portcullis without a real mail server.
 *   npx tsx scripts/mail-catcher.ts
 */
import { createServer } from "node:http";
import { startTestSmtpServer } from "../lib/mail/test-smtp-server.ts";

const smtpPort = Number(process.env.SMTP_PORT ?? 2525);
const httpPort = Number(process.env.HTTP_PORT ?? 2580);

const smtp = await startTestSmtpServer({ port: smtpPort });
const http = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/messages" && req.method === "GET") {
    const to = url.searchParams.get("to");
    const list = smtp.messages.filter((m) => !to || m.to.includes(to)).map(({ from, to, subject, text, html, headers }) => ({ from, to, subject, text, html, date: headers["date"] }));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(list));
    return;
  }
  if (url.pathname === "/messages" && req.method === "DELETE") {
    smtp.messages.length = 0;
    res.writeHead(204).end();
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("GET /messages");
});
http.listen(httpPort, "127.0.0.1", () => {
  console.log(`mail catcher: SMTP 127.0.0.1:${smtp.port}, messages at http://127.0.0.1:${httpPort}/messages`);
});
const stop = async () => {
  http.close();
  await smtp.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
