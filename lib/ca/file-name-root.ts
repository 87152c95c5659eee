/** The IRIS rule for file name roots: letters, digits, '-' and '_'; never "cache". */
export const FILE_NAME_ROOT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function fileNameRootProblem(root: string | undefined | null): string | null {
  const r = (root ?? "").trim();
  if (!r) return "Enter a file name root";
  if (r.length > 64) return "Use at most 64 characters";
  if (!FILE_NAME_ROOT_PATTERN.test(r)) return "Use only letters, digits, the hyphen and the underscore (no extension, spaces or slashes)";
  if (r.toLowerCase() === "cache") return 'The file name root cannot be "cache"';
  return null;
}
