/**
 * The app's types and the router factory every domain uses, so that validation failures and
 * OpenAPI generation behave the same everywhere. Domains add their own context variables with
 * `declare module "hono" { interface ContextVariableMap … }` (the caller's `principal`: access/principal.ts).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { matchedRoutes } from "hono/route";
import type { RouterRoute } from "hono/types";
import { badRequest } from "./problem";

export interface AppVariables {
  requestId: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}

/** A router whose zod validation failures become 400 problem documents naming each field. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((issue) => ({
          path: issue.path.map(String).join(".") || "(body)",
          // Names the fields, never their values.
          message:
            issue.code === "unrecognized_keys"
              ? `unknown field(s): ${issue.keys.join(", ")}`
              : issue.message,
        }));
        const where =
          result.target === "json"
            ? "request body"
            : result.target === "query"
              ? "query string"
              : result.target;
        throw badRequest(
          `The ${where} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
          "validation-failed",
          { errors },
        );
      }
      return undefined;
    },
  });
}

const routeFacts = new WeakMap<Context, { routes: RouterRoute[]; hasHandler: boolean }>();

/**
 * The routes this request matched (Hono's `matchedRoutes`), and whether one of them is a handler
 * for its method rather than a middleware on ALL: computed once per request, however many
 * middlewares ask.
 */
export function routeFactsOf(c: Context): { routes: RouterRoute[]; hasHandler: boolean } {
  let facts = routeFacts.get(c);
  if (!facts) {
    const routes = matchedRoutes(c);
    facts = { routes, hasHandler: routes.some((r) => r.method !== "ALL") };
    routeFacts.set(c, facts);
  }
  return facts;
}
