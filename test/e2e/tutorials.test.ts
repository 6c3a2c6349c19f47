/**
 * Every tutorial, followed end to end: its markdown is read back from the platform (what readers
 * see), its shell blocks are run in order in one bash session against the running platform —
 * with the CLI on PATH, the demo organization's key, the operator key, a buyer's key and the
 * provider stand-ins — and every step must succeed (`set -euo pipefail`, `curl -f`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const saas = inject("saas");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  tenant: { apiKey: string };
};
const operatorKey = inject("operatorKey");
const root = join(import.meta.dirname, "..", "..");

const EXPECTED: Record<string, RegExp[]> = {
  "your-first-plugin": [
    /"message":"Hello, World!"/,
    /the new version answers/,
    /the visit is in its logs/,
  ],
  "permissions-and-secrets": [
    /refused: grants missing/,
    /the secret is not in any answer/,
    /succeeded/,
    /uninstalled/,
  ],
  "publishing-and-review": [/^1\.1\.0$/m, /1\.1\.0 yanked/, /suspended: hidden/],
  "selling-your-plugin": [
    /payment required/,
    /^1350$/m,
    /replayed the same purchase/,
    /^450$/m,
    /partially_refunded/,
  ],
  "connecting-hubspot-and-slack": [
    /connected con_/,
    /the contact is in Salesforce/,
    /slack-responder answered/,
  ],
};

function shellBlocks(markdown: string): string {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join("\n");
}

/** The SDK's and CLI's tarballs, as the first tutorial tells a reader to make them. */
const packs = mkdtempSync(join(tmpdir(), "atoll-packs-"));
beforeAll(() => {
  execFileSync(
    "npm",
    [
      "pack",
      "-w",
      "packages/sdk",
      "-w",
      "packages/cli",
      "--pack-destination",
      packs,
      "--loglevel=error",
    ],
    { cwd: root, encoding: "utf8" },
  );
}, 120_000);

describe("the tutorials, followed end to end", async () => {
  const list = (await (await fetch(`${base}/v1/portal/tutorials`)).json()) as {
    tutorials: { slug: string; title: string }[];
  };

  it("are the five in reading order", () => {
    expect(list.tutorials.map((t) => t.slug)).toEqual(Object.keys(EXPECTED));
  });

  it.each(Object.keys(EXPECTED))(
    "%s",
    async (slug) => {
      const t = (await (await fetch(`${base}/v1/portal/tutorials/${slug}`)).json()) as {
        markdown: string;
        html: string;
      };
      expect(t.html).toContain('<pre tabindex="0"><code');
      const work = mkdtempSync(join(tmpdir(), `atoll-tutorial-${slug}-`));
      const script = `set -euo pipefail\n${shellBlocks(t.markdown)}\n`;
      const run = spawnSync("bash", ["-c", script], {
        cwd: work,
        encoding: "utf8",
        timeout: 120_000,
        env: {
          // The CLI only as the tutorials install it: nothing of this repository on the path.
          PATH: (process.env.PATH ?? "")
            .split(":")
            .filter((dir) => dir && !dir.startsWith(root))
            .join(":"),
          ATOLL_PACKS: packs,
          HOME: work,
          ATOLL: base,
          KEY: creds.apiKey,
          OPERATOR_KEY: operatorKey,
          TENANT: creds.tenant.apiKey,
          SAAS: saas,
        },
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      for (const marker of EXPECTED[slug] ?? []) expect(run.stdout).toMatch(marker);
    },
    150_000,
  );
});
