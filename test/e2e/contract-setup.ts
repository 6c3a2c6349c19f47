/**
 * The drift check for the e2e tests: every response the real local platform gives a test's
 * `fetch` is held against the served OpenAPI document (test/contract.ts); a mismatch fails the
 * test. `ATOLL_CONTRACT_CHECK=report` only warns.
 */
import { inject } from "vitest";
import { Contract, type ContractDocument } from "../contract";

const base = inject("baseUrl");
const original = globalThis.fetch;
let contract: Promise<Contract> | null = null;

function methodOf(input: RequestInfo | URL, init?: RequestInit): string {
  return (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
}

globalThis.fetch = async function checkedFetch(input: RequestInfo | URL, init?: RequestInit) {
  const res = await original(input, init);
  const url = new URL(res.url || (input instanceof Request ? input.url : String(input)));
  if (url.origin !== new URL(base).origin) return res;
  const method = methodOf(input, init);
  const type = res.headers.get("content-type");
  const pluginAnswer =
    /^\/(p|apps)\//.test(url.pathname) && !type?.startsWith("application/problem+json");
  contract ??= original(`${base}/openapi.json`).then(
    async (r) => new Contract((await r.json()) as ContractDocument),
  );
  const wrong = (await contract).check({
    method,
    path: url.pathname,
    status: res.status,
    contentType: type,
    body: pluginAnswer || method === "HEAD" ? "" : await res.clone().text(),
    pluginAnswer,
  });
  if (wrong.length === 0) return res;
  if (process.env.ATOLL_CONTRACT_CHECK === "report") {
    console.warn(`CONTRACT-DRIFT ${wrong.join("\n")}`);
    return res;
  }
  throw new Error(`The response is not what the API document promises:\n${wrong.join("\n")}`);
};
