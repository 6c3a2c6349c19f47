/** The Atoll project folder: the nearest ancestor of this module that holds src/sdk/index.ts. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "src", "sdk", "index.ts"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the Atoll project (src/sdk/index.ts)");
    dir = parent;
  }
}
