import { describe, expect, it } from "vitest";
import {
  MAX_BINDING_VALUE_BYTES,
  oversizedBindings,
  pluginBindings,
} from "../../src/runtime/bindings";
import { scriptBindings } from "../../src/runtime/dispatch-host";
import { pluginEnv, type HostExports } from "../../src/runtime/loader-host";
import type { PluginSpec } from "../../src/runtime/spec";

const spec = (grants: string[], secrets: Record<string, string> = {}): PluginSpec => ({
  installationId: "ins_00000000000000000000",
  orgId: "org_00000000000000000000",
  environment: "production",
  plugin: "@example/p",
  pluginId: "plg_00000000000000000000",
  paid: false,
  version: "1.0.0",
  sha256: "0".repeat(64),
  entry: "index.js",
  grants,
  config: { region: "eu" },
  secrets,
  limits: { cpuMs: 50, subrequests: 50 },
  requestsPerMinute: null,
  revision: 1,
});

/** Stand-ins for the Worker's entrypoints: each returns what it was built with. */
const exportsOf = {
  PluginStorage: (o: unknown) => ({ entry: "PluginStorage", ...(o as object) }),
  IntegrationGate: (o: unknown) => ({ entry: "IntegrationGate", ...(o as object) }),
} as unknown as HostExports;

describe("one binding table for every backend", () => {
  const full = spec(["storage", "secrets:API_KEY", "secrets:UNSET", "integrations:slack"], {
    API_KEY: "sk_live_x",
  });

  it("gives exactly what the grants allow, one string binding per secret that is set", () => {
    expect(pluginBindings(full).map((b) => [b.type, b.name])).toEqual([
      ["json", "ATOLL"],
      ["service", "STORAGE"],
      ["service", "INTEGRATIONS"],
      ["secret_text", "SECRET_API_KEY"],
    ]);
    expect(pluginBindings(spec([])).map((b) => b.name)).toEqual(["ATOLL"]);
  });

  it("the Worker Loader env and the dispatch upload carry the same names, secrets only as secrets", () => {
    const env = pluginEnv(full, exportsOf);
    const upload = scriptBindings(full, "atoll");
    expect(Object.keys(env).sort()).toEqual(upload.map((b) => b.name).sort());
    expect(env.SECRET_API_KEY).toBe("sk_live_x");
    expect(env.INTEGRATIONS).toMatchObject({ entry: "IntegrationGate" });
    // Integrations reach production too (the dispatch backend once had no INTEGRATIONS).
    expect(upload.find((b) => b.name === "INTEGRATIONS")).toMatchObject({
      type: "service",
      service: "atoll",
      entrypoint: "IntegrationGate",
      props: { installationId: full.installationId, providers: ["slack"] },
    });
    // Nothing but a secret_text binding holds the secret (json values can be read back).
    const readable = JSON.stringify(upload.filter((b) => b.type !== "secret_text"));
    expect(readable).not.toContain("sk_live_x");
  });

  it("a secret named like another binding cannot shadow it", () => {
    const names = pluginBindings(
      spec(["storage", "secrets:STORAGE", "secrets:ATOLL"], { STORAGE: "x", ATOLL: "y" }),
    ).map((b) => b.name);
    expect(names).toEqual(["ATOLL", "STORAGE", "SECRET_STORAGE", "SECRET_ATOLL"]);
  });

  it("write-only settings travel only as secret_text CONFIG_<key> bindings, never in the json one", () => {
    const sealed: PluginSpec = {
      ...spec(["secrets:API_KEY"], { API_KEY: "sk_live_x" }),
      config: { region: "eu", password: "hunter2-sealed", keys: ["k-1-sealed"] },
      sealedConfig: ["password", "keys"],
    };
    const bindings = pluginBindings(sealed);
    expect(bindings.map((b) => [b.type, b.name])).toEqual([
      ["json", "ATOLL"],
      ["secret_text", "SECRET_API_KEY"],
      ["secret_text", "CONFIG_keys"],
      ["secret_text", "CONFIG_password"],
    ]);
    expect(bindings[0]).toMatchObject({ json: { config: { region: "eu" } } });
    const readable = JSON.stringify(
      scriptBindings(sealed, "atoll").filter((b) => b.type !== "secret_text"),
    );
    expect(readable).not.toContain("hunter2-sealed");
    expect(readable).not.toContain("k-1-sealed");
    // Each holds its setting's JSON, so a plugin gets back what was configured, type and all.
    const env = pluginEnv(sealed, exportsOf);
    expect(JSON.parse(String(env.CONFIG_password))).toBe("hunter2-sealed");
    expect(JSON.parse(String(env.CONFIG_keys))).toEqual(["k-1-sealed"]);
    expect((env.ATOLL as { config: unknown }).config).toEqual({ region: "eu" });
  });
});

describe("Cloudflare's 5 KB per binding value", () => {
  const big = "x".repeat(MAX_BINDING_VALUE_BYTES);
  it.each([
    ["a secret", { secrets: { API_KEY: big + "y" } }, "secrets.API_KEY"],
    [
      "a write-only setting",
      { config: { region: "eu", password: big }, sealedConfig: ["password"] },
      "config.password",
    ],
    [
      "the plain settings together",
      { config: { a: big.slice(2400), b: big.slice(2400) } },
      "config",
    ],
  ])("names %s whose binding would exceed it", (_label, over, path) => {
    const s = { ...spec(["secrets:API_KEY"], { API_KEY: "k" }), ...over } as PluginSpec;
    expect(oversizedBindings(s).map((e) => e.path)).toEqual([path]);
  });

  it("counts UTF-8 bytes, and lets each of several secrets use its own 5 KB", () => {
    const s = spec(["secrets:A", "secrets:B"], { A: "a".repeat(3000), B: "b".repeat(3000) });
    expect(oversizedBindings(s)).toEqual([]);
    const wide = spec(["secrets:A"], { A: "é".repeat(2501) }); // 5,002 bytes, 2,501 characters
    expect(oversizedBindings(wide).map((e) => e.path)).toEqual(["secrets.A"]);
    expect(
      oversizedBindings(spec(["secrets:A"], { A: "a".repeat(MAX_BINDING_VALUE_BYTES) })),
    ).toEqual([]);
  });

  it("refuses more value bindings than a Worker may hold (64), naming config", () => {
    const keys = Array.from({ length: 64 }, (_, i) => `s${i}`);
    const many: PluginSpec = {
      ...spec([]),
      config: Object.fromEntries(keys.map((k) => [k, "v"])),
      sealedConfig: keys,
    };
    expect(oversizedBindings(many).map((e) => e.path)).toEqual(["config"]);
    expect(oversizedBindings({ ...many, sealedConfig: keys.slice(1) })).toEqual([]);
  });
});
