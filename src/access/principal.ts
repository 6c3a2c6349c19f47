/** Who is calling, as established by authentication. */
import type { Context, MiddlewareHandler } from "hono";
import { routeFactsOf, type AppEnv } from "../platform/http/router";
import type { Role } from "../platform/db/schema";
import { forbidden, notFound, unauthorized } from "../platform/http/problem";
import type { Scope } from "./scopes";
import type { LimitPlan } from "./ratelimit/policy";

declare module "hono" {
  interface ContextVariableMap {
    /** Set by `authenticate()` on every request it sees: null for an anonymous caller. */
    principal: Principal | null;
  }
}

export type AuthMethod = "api_key" | "access_token" | "operator_key" | "external_token";

export interface Principal {
  method: AuthMethod;
  /** The rate-limit and revocation subject: an API key id (shared with its JWTs), `operator`, or `idp:…`. */
  subject: string;
  userId: string | null;
  orgId: string | null;
  role: Role | "operator";
  scopes: Scope[];
  plan: LimitPlan;
  /** The API key behind the call, if any (also the `client_id` of tokens minted from it). */
  keyId: string | null;
  /** When the credential stops working (ms), if it expires. */
  expiresAt: number | null;
}

/** The authenticated caller, or a 401. */
export function requirePrincipal(c: Context<AppEnv>): Principal {
  const p = c.get("principal");
  if (!p) throw unauthorized("Send an API key (X-API-Key) or a bearer token.");
  return p;
}

/** The caller, who must hold `scope` (operators hold every scope). */
export function requireScope(c: Context<AppEnv>, scope: Scope): Principal {
  const p = requirePrincipal(c);
  if (p.role !== "operator" && !p.scopes.includes(scope)) {
    throw forbidden(`This credential lacks the "${scope}" scope.`);
  }
  return p;
}

/** The caller must be the platform operator. */
export function requireOperator(c: Context<AppEnv>): Principal {
  const p = requirePrincipal(c);
  if (p.role !== "operator") throw forbidden("Only the platform operator may do this.");
  return p;
}

/**
 * The caller must belong to `orgId` (or be the operator). A caller from another organization gets
 * 404, not 403, so that ids of other tenants cannot be probed.
 */
export function requireOrg(c: Context<AppEnv>, orgId: string, scope: Scope): Principal {
  const p = requireScope(c, scope);
  if (p.role !== "operator" && p.orgId !== orgId) throw notFound("The organization");
  return p;
}

/**
 * Router middleware: every route behind it is the operator's. Runs before the routes' own
 * validation, so a caller who is not the operator learns 401/403 and nothing about the request
 * shapes (a path with no route still answers 404/405).
 */
export function operatorOnly(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (routeFactsOf(c).hasHandler) requireOperator(c);
    await next();
  };
}
