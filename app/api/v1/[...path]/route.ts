import { route } from "@/app/_server/http.ts";
import { AppError } from "@/lib/errors/app-error.ts";

const notFound = route(async (req) => {
  throw new AppError("not_found", `No API route ${req.method} ${new URL(req.url).pathname}`);
});

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
