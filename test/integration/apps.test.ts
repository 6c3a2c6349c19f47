import { describe, expect, it } from "vitest";
import { call, problem } from "../helpers";
import { publishAndInstall, publisher, rawPackage } from "../plugin-helpers";

const app = `export default { fetch(req) { const u = new URL(req.url); return Response.json({ app: "ledger", path: u.pathname, org: req.headers.get("x-atoll-organization") }); } }`;

describe("apps", () => {
  it("answer at /apps/{organization}/{environment}/{app}, returned by the install", async () => {
    const a = await publisher("ap");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, app, { name: `@${a.slug}/ledger`, kind: "app" }),
      { environment: "staging" },
    );
    expect(inst.endpoint).toBe(`/apps/${a.slug}/staging/ledger`);
    const res = await call(`${inst.endpoint}/entries/42?x=1`, { key: a.apiKey });
    expect(await res.json()).toEqual({ app: "ledger", path: "/entries/42", org: a.orgId });
    const listed = (await (await call("/v1/installations", { key: a.apiKey })).json()) as {
      installations: { endpoint: string }[];
    };
    expect(listed.installations.map((i) => i.endpoint)).toContain(`/apps/${a.slug}/staging/ledger`);
  });

  it("answer 404 to other organizations, other environments and unknown apps", async () => {
    const a = await publisher("ap");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, app, { name: `@${a.slug}/ledger`, kind: "app" }),
      { environment: "production" },
    );
    const b = await publisher("ap");
    expect((await call(`${inst.endpoint}/x`, { key: b.apiKey })).status).toBe(404);
    expect((await call(`/apps/${a.slug}/staging/ledger/x`, { key: a.apiKey })).status).toBe(404);
    expect((await call(`/apps/${a.slug}/production/nothing/x`, { key: a.apiKey })).status).toBe(
      404,
    );
    expect((await call(`${inst.endpoint}/x`)).status).toBe(401);
  });

  it("refuse a second app with the same name in one environment (its endpoint would clash)", async () => {
    const a = await publisher("ap");
    await publishAndInstall(
      a,
      rawPackage(a.slug, app, { name: `@${a.slug}/ledger`, kind: "app" }),
      { environment: "development" },
    );
    const other = await publisher("ap");
    const pub = await call("/v1/packages", {
      method: "POST",
      key: other.apiKey,
      body: rawPackage(other.slug, app, { name: `@${other.slug}/ledger`, kind: "app" }),
      headers: { "content-type": "application/zip" },
    });
    expect(pub.status).toBe(201);
    const res = await call("/v1/installations", {
      method: "POST",
      key: a.apiKey,
      json: { plugin: `@${other.slug}/ledger`, grants: [], environment: "development" },
    });
    expect(res.status).toBe(409);
    expect((await problem(res)).type).toMatch(/app-name-taken$/);
  });

  it("stop answering once uninstalled", async () => {
    const a = await publisher("ap");
    const inst = await publishAndInstall(
      a,
      rawPackage(a.slug, app, { name: `@${a.slug}/ledger`, kind: "app" }),
    );
    const id = (
      (await (await call("/v1/installations", { key: a.apiKey })).json()) as {
        installations: { id: string }[];
      }
    ).installations[0]?.id;
    expect((await call(`${inst.endpoint}/x`, { key: a.apiKey })).status).toBe(200);
    expect(
      (await call(`/v1/installations/${id}`, { method: "DELETE", key: a.apiKey })).status,
    ).toBe(204);
    expect((await call(`${inst.endpoint}/x`, { key: a.apiKey })).status).toBe(404);
  });
});
