import { describe, expect, it } from "vitest";
import { OPERATOR_KEY, call, problem } from "../helpers";
import { publisher } from "../plugin-helpers";

const write = (slug: string, json: unknown, key = OPERATOR_KEY) =>
  call(`/v1/portal/tutorials/${slug}`, { method: "PUT", key, json });
const base = { title: "Hello", difficulty: "beginner", order: 1, tags: ["plugins"] };

describe("tutorials", () => {
  it("are written by the operator and read by anyone, in order, with safe HTML", async () => {
    expect(
      (
        await write("second-steps", {
          ...base,
          order: 2,
          title: "Second",
          markdown: "Then **this**.",
        })
      ).status,
    ).toBe(201);
    const res = await write("first-steps", {
      ...base,
      markdown: "# First\n\nStart *here*.\n\n```sh\ncurl -s $ATOLL/healthz\n```\n",
    });
    expect(res.status).toBe(201);
    expect(
      (await write("first-steps", { ...base, title: "First steps", markdown: "Start *here*." }))
        .status,
    ).toBe(200);
    const list = (await (await call("/v1/portal/tutorials")).json()) as {
      tutorials: { slug: string; title: string; summary: string }[];
    };
    expect(list.tutorials.map((t) => t.slug)).toEqual(["first-steps", "second-steps"]);
    expect(list.tutorials[0]).toMatchObject({ title: "First steps", summary: "Start here." });
    const one = (await (await call("/v1/portal/tutorials/first-steps")).json()) as { html: string };
    expect(one.html).toBe("<p>Start <em>here</em>.</p>\n");
    expect(
      (
        (await (await call("/v1/portal/tutorials?difficulty=advanced")).json()) as {
          tutorials: unknown[];
        }
      ).tutorials,
    ).toEqual([]);
  });

  it("escapes raw HTML and refuses script links", async () => {
    const md =
      "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) [docs](https://atoll.dev/docs)";
    const t = (await (await write("unsafe", { ...base, markdown: md })).json()) as { html: string };
    expect(t.html).not.toMatch(/<script|<img|href="javascript/i);
    expect(t.html).toContain("&lt;script&gt;");
    expect(t.html).toContain(
      '<a href="https://atoll.dev/docs" rel="noopener noreferrer nofollow">docs</a>',
    );
  });

  it.each([
    ["a missing title", { difficulty: "beginner", order: 1, markdown: "x" }],
    ["an unknown difficulty", { ...base, difficulty: "expert", markdown: "x" }],
    ["an empty body", { ...base, markdown: "" }],
    ["a body over 100 kB", { ...base, markdown: "x".repeat(100_001) }],
  ])("refuses %s", async (_what, json) => {
    const res = await write("bad-one", json);
    expect([400, 413]).toContain(res.status);
    await problem(res);
  });

  it("refuses writes by anyone but the operator, and a slug that is not one", async () => {
    const a = await publisher("tut");
    expect((await write("mine", { ...base, markdown: "x" }, a.apiKey)).status).toBe(403);
    expect((await write("Not A Slug", { ...base, markdown: "x" })).status).toBe(400);
    expect((await call("/v1/portal/tutorials/nope")).status).toBe(404);
  });
});

describe("a tutorial's body limit", () => {
  it("take the longest markdown the schema allows, however JSON escapes it", async () => {
    // 100,000 characters, each escaped by JSON.stringify to six bytes: a 600 KB body.
    const markdown = "\u0001".repeat(100_000);
    expect(JSON.stringify({ ...base, markdown }).length).toBeGreaterThan(600_000);
    expect((await write("longest", { ...base, markdown })).status).toBe(201);
    const over = await write("longest", { ...base, markdown: `${markdown}x` });
    expect(over.status).toBe(400);
    expect((await problem(over)).type).toMatch(/validation-failed$/);
  });
});
