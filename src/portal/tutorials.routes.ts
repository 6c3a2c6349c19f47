/** Tutorials: public to read (markdown and rendered HTML), written by the operator. */
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { actorOf, auditInsert } from "../access/audit";
import { requireOperator } from "../access/principal";
import { createRouter } from "../platform/http/router";
import { getDb } from "../platform/db/client";
import { tutorials, type TutorialRow } from "../platform/db/schema";
import { jsonBodyOf } from "../platform/http/middleware";
import { notFound } from "../platform/http/problem";
import { AUTHENTICATED, problems, iso } from "../platform/http/schemas";
import { renderMarkdown, summaryOf } from "./markdown";
import { publicRoute } from "../access/authenticate";

export const tutorialRoutes = createRouter();

export const MAX_TUTORIAL_BYTES = 100_000;
/**
 * The body limit of a tutorial's PUT: room for the longest markdown the schema allows even when
 * JSON escapes every character (`\u0000`, 6 bytes), so the limit never refuses a valid tutorial.
 */
export const TUTORIAL_BODY_LIMIT = 640 * 1024;
const Difficulty = z.enum(["beginner", "intermediate", "advanced"]);
const Slug = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+){0,8}$/, "must be lower-case words joined by hyphens")
  .max(80);

const Summary = z
  .object({
    slug: z.string(),
    title: z.string(),
    difficulty: Difficulty,
    order: z.number().int(),
    tags: z.array(z.string()),
    summary: z.string(),
    updatedAt: z.string(),
  })
  .openapi("TutorialSummary");
const Tutorial = Summary.extend({
  markdown: z.string(),
  html: z.string().openapi({ description: "Safe HTML: raw HTML in the source is escaped" }),
}).openapi("Tutorial");

const toSummary = (t: TutorialRow) => ({
  slug: t.slug,
  title: t.title,
  difficulty: t.difficulty,
  order: t.position,
  tags: JSON.parse(t.tags) as string[],
  summary: t.summary,
  updatedAt: iso(t.updatedAt),
});
const toTutorial = (t: TutorialRow) => ({ ...toSummary(t), markdown: t.markdown, html: t.html });

export async function listTutorials(db: ReturnType<typeof getDb>): Promise<TutorialRow[]> {
  return db
    .select()
    .from(tutorials)
    .orderBy(asc(tutorials.position), asc(tutorials.slug))
    .limit(200);
}
export async function getTutorial(
  db: ReturnType<typeof getDb>,
  slug: string,
): Promise<TutorialRow | null> {
  return (await db.select().from(tutorials).where(eq(tutorials.slug, slug)))[0] ?? null;
}

export const list = createRoute(
  publicRoute({
    method: "get",
    path: "/",
    tags: ["Developer portal"],
    summary: "Tutorials, in reading order (optionally one difficulty or tag)",
    request: {
      query: z
        .object({ difficulty: Difficulty.optional(), tag: z.string().max(40).optional() })
        .strict(),
    },
    responses: {
      200: {
        description: "Tutorials",
        content: { "application/json": { schema: z.object({ tutorials: z.array(Summary) }) } },
      },
      ...problems(400, 429),
    },
  }),
);

tutorialRoutes.openapi(list, async (c) => {
  const q = c.req.valid("query");
  const rows = (await listTutorials(getDb(c.env.DB))).filter(
    (t) =>
      (!q.difficulty || t.difficulty === q.difficulty) &&
      (!q.tag || (JSON.parse(t.tags) as string[]).includes(q.tag)),
  );
  return c.json({ tutorials: rows.map(toSummary) }, 200);
});

const SlugParams = z.object({
  slug: Slug.openapi({ param: { name: "slug", in: "path" }, example: "your-first-plugin" }),
});

export const getOne = createRoute(
  publicRoute({
    method: "get",
    path: "/{slug}",
    tags: ["Developer portal"],
    summary: "A tutorial: its markdown and the rendered, safe HTML",
    request: { params: SlugParams },
    responses: {
      200: { description: "The tutorial", content: { "application/json": { schema: Tutorial } } },
      ...problems(400, 404, 429),
    },
  }),
);

tutorialRoutes.openapi(getOne, async (c) => {
  const t = await getTutorial(getDb(c.env.DB), c.req.valid("param").slug);
  if (!t) throw notFound("The tutorial");
  return c.json(toTutorial(t), 200);
});

const Write = z
  .object({
    title: z.string().min(1).max(120),
    difficulty: Difficulty,
    order: z.number().int().min(0).max(10_000),
    tags: z
      .array(z.string().regex(/^[a-z0-9-]{1,30}$/, "tags are short lower-case words"))
      .max(10)
      .default([]),
    markdown: z.string().min(1).max(MAX_TUTORIAL_BYTES),
  })
  .strict()
  .openapi("TutorialWrite");

const put = createRoute({
  method: "put",
  path: "/{slug}",
  tags: ["Developer portal"],
  summary: "Create or replace a tutorial (operator)",
  security: AUTHENTICATED,
  middleware: [...jsonBodyOf(TUTORIAL_BODY_LIMIT)],
  request: {
    params: SlugParams,
    body: { required: true, content: { "application/json": { schema: Write } } },
  },
  responses: {
    200: { description: "Replaced", content: { "application/json": { schema: Tutorial } } },
    201: { description: "Created", content: { "application/json": { schema: Tutorial } } },
    ...problems(400, 401, 403, 413, 415, 429),
  },
});

tutorialRoutes.openapi(put, async (c) => {
  const p = requireOperator(c);
  const { slug } = c.req.valid("param");
  const body = c.req.valid("json");
  const db = getDb(c.env.DB);
  const existing = await getTutorial(db, slug);
  const now = Date.now();
  const row: TutorialRow = {
    slug,
    title: body.title,
    difficulty: body.difficulty,
    position: body.order,
    tags: JSON.stringify(body.tags),
    summary: summaryOf(body.markdown),
    markdown: body.markdown,
    html: renderMarkdown(body.markdown),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await db.batch([
    db
      .insert(tutorials)
      .values(row)
      .onConflictDoUpdate({
        target: tutorials.slug,
        set: {
          title: row.title,
          difficulty: row.difficulty,
          position: row.position,
          tags: row.tags,
          summary: row.summary,
          markdown: row.markdown,
          html: row.html,
          updatedAt: now,
        },
      }),
    auditInsert(
      db,
      {
        orgId: null,
        actor: actorOf(p),
        action: existing ? "tutorial.updated" : "tutorial.created",
        target: slug,
        details: { title: row.title },
        requestId: c.get("requestId"),
      },
      now,
    ),
  ]);
  return c.json(toTutorial(row), existing ? 200 : 201);
});

const remove = createRoute({
  method: "delete",
  path: "/{slug}",
  tags: ["Developer portal"],
  summary: "Delete a tutorial (operator)",
  security: AUTHENTICATED,
  request: { params: SlugParams },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});

tutorialRoutes.openapi(remove, async (c) => {
  requireOperator(c);
  const { slug } = c.req.valid("param");
  const r = await getDb(c.env.DB).delete(tutorials).where(eq(tutorials.slug, slug)).run();
  if (r.meta.changes === 0) throw notFound("The tutorial");
  return c.body(null, 204);
});
