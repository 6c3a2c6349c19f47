/**
 * An external linter nobody here wrote — Redocly CLI with its recommended rules — on the document
 * the running platform serves: zero errors, and no warning beyond the reviewed ones below.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const root = join(import.meta.dirname, "..", "..");

/**
 * Reviewed warnings: the project has no license to state yet, and these non-API operations have
 * no 4xx answer to document (they take no input and no credential, and are not rate-limited).
 */
const REVIEWED = [
  "info-license #/info",
  "operation-4xx-response #/paths/~1healthz/get/responses",
  "operation-4xx-response #/paths/~1.well-known~1jwks.json/get/responses",
  "operation-4xx-response #/paths/~1.well-known~1oauth-authorization-server/get/responses",
  "operation-4xx-response #/paths/~1schemas~1manifest.json/get/responses",
];

interface Problem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer: string }[];
}

/** Redocly's findings on the document served at `url`: every problem, and the errors in full. */
async function lint(url: string): Promise<{ seen: string[]; errors: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "atoll-lint-"));
  const file = join(dir, "openapi.json");
  const res = await fetch(url);
  expect(res.status).toBe(200);
  writeFileSync(file, await res.text());
  const run = spawnSync(
    process.execPath,
    [
      join(root, "node_modules", "@redocly", "cli", "bin", "cli.js"),
      "lint",
      file,
      "--extends",
      "recommended",
      "--format",
      "json",
    ],
    {
      cwd: dir,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        REDOCLY_TELEMETRY: "off",
        REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
      },
    },
  );
  const report = JSON.parse(run.stdout) as { problems: Problem[] };
  return {
    seen: report.problems
      .map(
        (p) =>
          `${p.ruleId} ${p.location[0]?.pointer ?? ""}${p.severity === "error" ? " (error)" : ""}`,
      )
      .sort(),
    errors: report.problems
      .filter((p) => p.severity === "error")
      .map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`),
  };
}

describe("the served OpenAPI document under Redocly's recommended rules", () => {
  it("has no error and only the reviewed warnings", async () => {
    const { seen, errors } = await lint(`${base}/openapi.json`);
    expect(errors).toEqual([]);
    expect(seen).toEqual([...REVIEWED].sort());
  });

  // Each example plugin's own document (typed from its routes' schemas), under the same rules;
  // the plugins state no license in their document either.
  it.each(["hello", "advanced-analytics", "payment-gateway", "slack-responder"])(
    "the plugin document of @demo/%s has no error and only the reviewed warning",
    async (name) => {
      const { seen, errors } = await lint(
        `${base}/v1/marketplace/listings/@demo/${name}/openapi.json`,
      );
      expect(errors).toEqual([]);
      expect(seen).toEqual(["info-license #/info"]);
    },
  );
});
