#!/usr/bin/env node
// `npm create atoll <dir> [--scope org] [--template @scope/name]`: the same as `atoll init`.
import { main } from "@atoll/cli";

process.exitCode = await main(["init", ...process.argv.slice(2)]);
