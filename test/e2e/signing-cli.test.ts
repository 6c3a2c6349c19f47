/**
 * Signing with the CLI on the real local platform: `atoll keys generate` writes the key pair
 * (private key mode 0600, never sent), `atoll keys register` sends only the public key,
 * `atoll publish --sign` sends the DSSE envelope and the platform shows who signed the version.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";

const base = inject("baseUrl");
const creds = JSON.parse(readFileSync(inject("credentialsPath"), "utf8")) as {
  apiKey: string;
  organization: { id: string; slug: string };
};
const root = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "atoll-sign-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function atoll(...args: string[]) {
  return spawnSync(process.execPath, [join(root, "packages", "cli", "bin", "atoll.mjs"), ...args], {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, ATOLL_URL: base, ATOLL_API_KEY: creds.apiKey },
  });
}

describe("atoll keys and atoll publish --sign", () => {
  it("generates a key, registers its public half, signs a publish; the API shows the signer", async () => {
    const keyFile = join(work, "release.pem");
    const gen = atoll("keys", "generate", "--out", keyFile);
    expect(gen.status, gen.stderr).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const fingerprint = /fingerprint (SHA256:\S+)/.exec(gen.stdout)?.[1];
    expect(fingerprint).toBeTruthy();
    const reg = atoll("keys", "register", "--sign", keyFile, "--name", "release");
    expect(reg.status, reg.stdout + reg.stderr).toBe(0);
    expect(reg.stdout).toContain(fingerprint);

    const init = atoll("init", "signed-plugin", "--scope", creds.organization.slug);
    expect(init.status, init.stderr).toBe(0);
    const pub = atoll("publish", "signed-plugin", "--sign", keyFile);
    expect(pub.status, pub.stdout + pub.stderr).toBe(0);
    expect(pub.stdout).toContain(`signed with ${fingerprint}`);
    const name = JSON.parse(readFileSync(join(work, "signed-plugin", "manifest.json"), "utf8"))
      .name as string;
    const [scope, short] = name.split("/");
    const res = await fetch(`${base}/v1/plugins/${scope}/${short}`, {
      headers: { "x-api-key": creds.apiKey },
    });
    const body = (await res.json()) as {
      versions: { signature: { fingerprint: string; sourceDigest: string } | null }[];
    };
    expect(body.versions[0]?.signature?.fingerprint).toBe(fingerprint);
    expect(body.versions[0]?.signature?.sourceDigest).toMatch(/^[0-9a-f]{64}$/);

    // A key file that is not the registered one: the platform names the unknown key.
    const other = join(work, "other.pem");
    expect(atoll("keys", "generate", "--out", other).status).toBe(0);
    const manifest = join(work, "signed-plugin", "manifest.json");
    const m = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
    writeFileSync(manifest, JSON.stringify({ ...m, version: "0.2.0" }));
    const refused = atoll("publish", "signed-plugin", "--sign", other);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/not registered to your organization/);
  });
});
