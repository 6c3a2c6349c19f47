/**
 * `@atoll/cli/testing`: the standalone dev server for a plugin's own tests (vitest, node:test…).
 * The same server `atoll dev` runs — the platform's runtime on workerd, nothing else — started
 * from code: build and load the plugin in `dir`, call it over HTTP, call its lifecycle hooks,
 * read its logs, stop. Pass a fresh `state` folder to start each run with empty storage.
 */
export { startDevServer, type DevServer } from "./standalone";
