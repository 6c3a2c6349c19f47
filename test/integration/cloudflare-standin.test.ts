/**
 * The Cloudflare API stand-in refuses what Cloudflare refuses (scripts/standins/cloudflare-api.mjs
 * and cloudflare-upload-rules.mjs), so a platform upload Cloudflare would reject fails here too.
 * Each case is a raw multipart upload that differs from a valid one in one way.
 */
import { describe, expect, it } from "vitest";
import { ACCOUNT, NAMESPACE, cf } from "../dispatch-standin";

type Meta = Record<string, unknown>;
interface Part {
  name: string;
  type: string;
  content: string | Uint8Array<ArrayBuffer>;
}

const MAIN: Part = {
  name: "index.js",
  type: "application/javascript+module",
  content: "export default { fetch() { return new Response('ok') } }",
};
const VALID: Meta = {
  main_module: "index.js",
  compatibility_date: "2026-11-01",
  bindings: [
    { type: "json", name: "ATOLL", json: { a: 1 } },
    { type: "secret_text", name: "SECRET_KEY", text: "sk_sealed_value" },
    { type: "plain_text", name: "MODE", text: "live" },
    { type: "service", name: "STORAGE", service: "atoll", entrypoint: "PluginStorage", props: {} },
  ],
  tags: ["atoll", "installation-ins__abc"],
  tail_consumers: [{ service: "atoll" }],
};

function put(
  metadata: Meta,
  parts: Part[] = [MAIN],
  opts: { account?: string; namespace?: string; token?: string; name?: string } = {},
) {
  const form = new FormData();
  form.append("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
  for (const p of parts) form.append(p.name, new File([p.content], p.name, { type: p.type }));
  const path = `/accounts/${opts.account ?? ACCOUNT}/workers/dispatch/namespaces/${opts.namespace ?? NAMESPACE}/scripts/${opts.name ?? "standin-check-1"}`;
  return fetch(cf.url + path, {
    method: "PUT",
    headers: { authorization: `Bearer ${opts.token ?? cf.token}` },
    body: form,
  });
}

async function refusal(res: Response): Promise<string> {
  const body = (await res.json()) as { success: boolean; errors: { message: string }[] };
  expect(body.success).toBe(false);
  return body.errors.map((e) => e.message).join("; ");
}

const bindings = (...extra: unknown[]) => [...(VALID.bindings as unknown[]), ...extra];

describe("the Cloudflare API stand-in", () => {
  it("accepts a valid upload; a bindings read shows json and plain_text values, never a secret's", async () => {
    expect((await put(VALID)).status).toBe(200);
    const read = await fetch(
      `${cf.url}/accounts/${ACCOUNT}/workers/dispatch/namespaces/${NAMESPACE}/scripts/standin-check-1/bindings`,
      { headers: { authorization: `Bearer ${cf.token}` } },
    );
    const { result } = (await read.json()) as { result: Record<string, unknown>[] };
    expect(result).toContainEqual({ type: "json", name: "ATOLL", json: { a: 1 } });
    expect(result).toContainEqual({ type: "plain_text", name: "MODE", text: "live" });
    expect(result).toContainEqual({ type: "secret_text", name: "SECRET_KEY" });
    expect(JSON.stringify(result)).not.toContain("sk_sealed_value");
  });

  it.each([
    ["a wrong token", { token: "nope" }, 403],
    ["an account that does not exist", { account: "acc_nobody" }, 404],
    ["a namespace that does not exist", { namespace: "elsewhere" }, 404],
    ["an invalid script name", { name: "Atoll_X" }, 400],
  ])("refuses %s", async (_label, opts, status) => {
    expect((await put(VALID, [MAIN], opts)).status).toBe(status);
  });

  const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  const ninth = Array.from({ length: 9 }, (_, i) => `t${i}`);
  const big = "x".repeat(5 * 1024 + 1);
  const values = Array.from({ length: 65 }, (_, i) => ({
    type: "plain_text",
    name: `V${i}`,
    text: "v",
  }));
  it.each<[string, Meta, Part[], RegExp]>([
    ["no main_module", { ...VALID, main_module: undefined }, [MAIN], /main_module/],
    [
      "a main_module that names no part",
      { ...VALID, main_module: "main.js" },
      [MAIN],
      /main_module/,
    ],
    [
      "a module content type Workers do not take",
      VALID,
      [MAIN, { name: "page.html", type: "text/html", content: "<p>" }],
      /content type/,
    ],
    [
      "a main module that is not an ES module",
      VALID,
      [{ ...MAIN, type: "text/plain" }],
      /ES module/,
    ],
    [
      "a compatibility date in the future",
      { ...VALID, compatibility_date: future },
      [MAIN],
      /future/,
    ],
    [
      "a compatibility date that is no date",
      { ...VALID, compatibility_date: "2026-02-30" },
      [MAIN],
      /date/,
    ],
    [
      "no compatibility date",
      { ...VALID, compatibility_date: undefined },
      [MAIN],
      /compatibility_date/,
    ],
    ["nine tags", { ...VALID, tags: ninth }, [MAIN], /at most 8/],
    ["a tag with a colon", { ...VALID, tags: ["installation:ins_1"] }, [MAIN], /alphabet/],
    ["a tag with @ and /", { ...VALID, tags: ["plugin-@a/b"] }, [MAIN], /alphabet/],
    ["a tag with a comma", { ...VALID, tags: ["a,b"] }, [MAIN], /alphabet/],
    [
      "two bindings of one name",
      { ...VALID, bindings: bindings({ type: "plain_text", name: "MODE", text: "x" }) },
      [MAIN],
      /twice/,
    ],
    [
      "a json binding without json",
      { ...VALID, bindings: [{ type: "json", name: "A" }] },
      [MAIN],
      /needs "json"/,
    ],
    [
      "a secret without text",
      { ...VALID, bindings: [{ type: "secret_text", name: "S" }] },
      [MAIN],
      /needs "text"/,
    ],
    [
      "an unknown field on a binding",
      {
        ...VALID,
        bindings: [{ type: "service", name: "S", service: "atoll", entry_point: "PluginStorage" }],
      },
      [MAIN],
      /unknown field/,
    ],
    [
      "an unknown binding type",
      { ...VALID, bindings: [{ type: "magic", name: "M" }] },
      [MAIN],
      /type "magic"/,
    ],
    [
      "a binding name that is no identifier",
      { ...VALID, bindings: [{ type: "plain_text", name: "a-b", text: "x" }] },
      [MAIN],
      /not valid/,
    ],
    [
      "a secret over 5 KB",
      { ...VALID, bindings: [{ type: "secret_text", name: "S", text: big }] },
      [MAIN],
      /5 KB/,
    ],
    [
      "a json value over 5 KB",
      { ...VALID, bindings: [{ type: "json", name: "J", json: { big } }] },
      [MAIN],
      /5 KB/,
    ],
    ["65 text bindings", { ...VALID, bindings: values }, [MAIN], /at most 64/],
    [
      "a service binding to a Worker that does not exist",
      { ...VALID, bindings: [{ type: "service", name: "S", service: "billing" }] },
      [MAIN],
      /does not exist/,
    ],
    [
      "a service binding to an entrypoint the Worker lacks",
      {
        ...VALID,
        bindings: [{ type: "service", name: "S", service: "atoll", entrypoint: "Admin" }],
      },
      [MAIN],
      /no entrypoint/,
    ],
    [
      "a tail consumer that does not exist",
      { ...VALID, tail_consumers: [{ service: "nobody" }] },
      [MAIN],
      /tail consumer/,
    ],
    ["an unknown metadata field", { ...VALID, bindingz: [] }, [MAIN], /unknown field/],
  ])("refuses %s, saying what", async (_label, metadata, parts, says) => {
    const res = await put(metadata, parts);
    expect(res.status).toBe(400);
    expect(await refusal(res)).toMatch(says);
  });

  it("refuses a Worker over 10 MB after compression", async () => {
    const noise = new Uint8Array(10 * 1024 * 1024 + 4096);
    for (let i = 0; i < noise.length; i += 65_536)
      crypto.getRandomValues(noise.subarray(i, i + 65_536));
    const res = await put(VALID, [
      MAIN,
      { name: "blob.bin", type: "application/octet-stream", content: noise },
    ]);
    expect(res.status).toBe(400);
    expect(await refusal(res)).toMatch(/compressed/);
  });
});
