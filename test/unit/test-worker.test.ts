import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as gateway from "../../src/index";
import * as testWorker from "../worker";

describe("the workers tests' main module (test/worker.ts)", () => {
  it("exports everything src/index.ts exports, and the pool sees each as an entrypoint", () => {
    for (const name of Object.keys(gateway)) {
      expect(testWorker, name).toHaveProperty(name, gateway[name as keyof typeof gateway]);
      if (name !== "default")
        expect(typeof (exports as Record<string, unknown>)[name], name).not.toBe("undefined");
    }
  });
});
