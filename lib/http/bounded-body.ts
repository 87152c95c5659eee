/**
 * HTTP bodies (of a Request or a Response) read into memory up to a limit, for the route
 * handlers and for the CA client reading a CA server's answers.
 */

/** The length the message's Content-Length header declares; 0 when it declares none. */
export function declaredLength(headers: Headers): number {
  return Number(headers.get("content-length") ?? "0");
}

/**
 * Reads `body` whole, but no more than `limit` bytes: past that it cancels the stream, so
 * that no more is received, and throws the error `tooLarge` makes.
 */
export async function readBoundedBody(body: ReadableStream<Uint8Array>, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
