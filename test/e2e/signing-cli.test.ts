/**
 * Signing with the CLI on the real local platform: `atoll keys generate` writes the key pair
 * (private key mode 0600, never sent), `atoll keys register` sends only the public key,
 * `atoll publish --sign` sends the DSSE envelope and the platform shows who signed the version;
 * `atoll revoke` is the kill switch; `atoll webhooks verify` checks a delivery's signature as a
 * receiver does (the expected signatures here are made with Node's crypto, not the CLI's code).
 */
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
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
  return atollWith({}, ...args);
}

function atollWith(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [join(root, "packages", "cli", "bin", "atoll.mjs"), ...args], {
    cwd: work,
    encoding: "utf8",
    env: { ...process.env, ATOLL_URL: base, ATOLL_API_KEY: creds.apiKey, ...env },
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

  it("atoll revoke stops a version's running installations; it names what it refuses", async () => {
    expect(atoll("init", "revoked-plugin", "--scope", creds.organization.slug).status).toBe(0);
    const pub = atoll("publish", "revoked-plugin");
    expect(pub.status, pub.stdout + pub.stderr).toBe(0);
    const name = JSON.parse(readFileSync(join(work, "revoked-plugin", "manifest.json"), "utf8"))
      .name as string;
    const installed = await fetch(`${base}/v1/installations`, {
      method: "POST",
      headers: { "x-api-key": creds.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ plugin: name, environment: "staging", grants: ["storage"] }),
    });
    expect(installed.status).toBe(201);
    const { id } = (await installed.json()) as { id: string };

    const usage = atoll("revoke", `${name}@0.1.0`);
    expect(usage.status).toBe(1);
    expect(usage.stderr).toContain("--reason");
    const missing = atoll("revoke", `${name}@9.9.9`, "--reason", "no such version");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/revoking .*@9\.9\.9 failed \(404\)/);

    const done = atoll("revoke", `${name}@0.1.0`, "--reason", "the release leaks data");
    expect(done.status, done.stdout + done.stderr).toBe(0);
    expect(done.stdout).toContain(`revoked ${name}@0.1.0`);
    expect(done.stdout).toContain("1 stopped");
    let status = 0;
    for (let i = 0; i < 40 && status !== 503; i++) {
      status = (await fetch(`${base}/p/${id}/`, { headers: { "x-api-key": creds.apiKey } })).status;
      if (status !== 503) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(503);
    const again = atoll("revoke", `${name}@0.1.0`, "--reason", "twice");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("(409)");
  });

  it("atoll webhooks verify accepts the exact bytes with a live secret and refuses a changed byte, an old timestamp, another secret and a secret on the command line", () => {
    const secret = `whsec_${"A".repeat(20)}b${"c".repeat(22)}`;
    const other = `whsec_${"Z".repeat(43)}`;
    const raw = '{"id":"pev_1","topic":"installation.created","payload":{}}';
    const sign = (t: number, body: string, s = secret) =>
      `t=${t},v1=${createHmac("sha256", s).update(`${t}.${body}`).digest("hex")}`;
    const now = Math.floor(Date.now() / 1000);
    const bodyFile = join(work, "delivery.json");
    writeFileSync(bodyFile, raw);
    const verify = (
      signature: string,
      env: Record<string, string> = { ATOLL_WEBHOOK_SECRET: secret },
      ...extra: string[]
    ) =>
      atollWith(env, "webhooks", "verify", "--body", bodyFile, "--signature", signature, ...extra);

    const ok = verify(sign(now, raw));
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain("signature verified");
    // During a rotation the header holds two v1; either one verifies.
    const rotated = `${sign(now, raw, other)},v1=${sign(now, raw).split("v1=")[1]}`;
    expect(verify(rotated).status).toBe(0);
    // The same form with "=" inside the flag's value.
    expect(
      atollWith(
        { ATOLL_WEBHOOK_SECRET: secret },
        "webhooks",
        "verify",
        `--body=${bodyFile}`,
        `--signature=${sign(now, raw)}`,
      ).status,
    ).toBe(0);

    const stale = verify(sign(now - 3600, raw));
    expect(stale.status).toBe(1);
    expect(stale.stdout).toContain("outside the tolerance");
    expect(verify(sign(now, raw, other)).stdout).toContain("no v1 matches");
    writeFileSync(bodyFile, raw.replace("installation", "Installation"));
    const changed = verify(sign(now, raw));
    expect(changed.status).toBe(1);
    expect(changed.stdout).toContain("no v1 matches");
    writeFileSync(bodyFile, raw);
    expect(verify("t=1,v1=zz").stdout).toContain("not t=…,v1=…");

    // The secret never on the command line; from a file it works.
    const onCli = verify(sign(now, raw), {}, "--secret", secret);
    expect(onCli.status).toBe(1);
    expect(onCli.stderr).toContain("command line");
    const secretFile = join(work, "whsec.txt");
    writeFileSync(secretFile, `${secret}\n`);
    expect(
      verify(sign(now, raw), { ATOLL_WEBHOOK_SECRET: "" }, "--secret-file", secretFile).status,
    ).toBe(0);
    const none = verify(sign(now, raw), { ATOLL_WEBHOOK_SECRET: "" });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("ATOLL_WEBHOOK_SECRET");
  });
});
