/**
 * Compile-time only (tsc -p packages/cli, run by npm test): what runs (the source) satisfies the
 * hand-written testing.d.ts a plugin's tests see — every declared call is accepted by the source
 * and every result the source gives has the declared shape.
 */
import type * as Declared from "../testing";
import type * as Source from "./testing";

type Satisfies<A, B> = [A] extends [B] ? true : false;
export const startDevServerAgrees: Satisfies<
  typeof Source.startDevServer,
  typeof Declared.startDevServer
> = true;
export const devServerAgrees: Satisfies<Source.DevServer, Declared.DevServer> = true;
