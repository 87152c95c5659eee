// Adds up the vitest and Playwright JSON reports and prints the closing line.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "test-results";
let passed = 0;
let failed = 0;
let skipped = 0;
const parts = [];

for (const [name, required] of [["vitest", true], ["vitest-postgres", false]]) {
  const file = join(dir, `${name}.json`);
  if (existsSync(file)) {
    const v = JSON.parse(readFileSync(file, "utf8"));
    passed += v.numPassedTests ?? 0;
    failed += (v.numFailedTests ?? 0) + (v.numRuntimeErrorTestSuites ?? 0) + (v.numFailedTestSuites && !v.numFailedTests ? v.numFailedTestSuites : 0);
    skipped += (v.numPendingTests ?? 0) + (v.numTodoTests ?? 0);
    parts.push(`${name}: ${v.numPassedTests} passed, ${v.numFailedTests} failed`);
  } else if (required) {
    failed += 1;
    parts.push(`${name}: no report`);
  }
}

const pwFile = join(dir, "playwright.json");
if (existsSync(pwFile)) {
  const p = JSON.parse(readFileSync(pwFile, "utf8"));
  const s = p.stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
  if ((p.errors ?? []).length) failed += p.errors.length;
  parts.push(`playwright: ${(s.expected ?? 0) + (s.flaky ?? 0)} passed, ${s.unexpected ?? 0} failed`);
} else {
  failed += 1;
  parts.push("playwright: no report");
}

console.log(parts.join("; "));
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
