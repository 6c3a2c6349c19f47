/**
 * The gateway Worker as the workers tests run it (`main` in vitest.config.ts): the exports of
 * src/index.ts, and the test-only entrypoints of the stand-in dispatch namespace's outbound side
 * (test/dispatch-outbound.ts), which a loaded isolate can reach only as entrypoints of its parent.
 * Named one by one: the pool finds a Worker's entrypoints without bundling, so `export *` would
 * hide them (test/unit/test-worker.test.ts checks that none is missing).
 */
export {
  default,
  ConnectionBroker,
  Egress,
  InstallationStore,
  IntegrationGate,
  LogTail,
  PluginStorage,
  RateLimiter,
} from "../src/index";
export { DispatchOutbound, StandInInternet } from "./dispatch-outbound";
