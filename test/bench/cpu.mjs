// Where a request's CPU goes: CPU time per request of each process of a running local platform,
// read from Linux's /proc while one scenario saturates it. The processes are found by process
// group (the gateway's and the plugin host's supervisors start each in a group of its own) and
// named by role: the gateway's workerd, the plugin host's, and the Node processes that supervise
// them.
// On a machine without /proc it measures nothing and says so.
import { existsSync, readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SEC = 100; // USER_HZ on Linux

function processes() {
  const out = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({
        pid: Number(pid),
        pgrp: Number(fields[2]),
        ticks: Number(fields[11]) + Number(fields[12]),
        cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "),
      });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

function role(p, gatewayGroup, hostGroup) {
  const workerd = /\bworkerd\b/.test(p.cmd);
  if (p.pgrp === hostGroup) return workerd ? "plugin host" : "host supervisor (node)";
  if (p.pgrp !== gatewayGroup) return null;
  return workerd ? "gateway" : "gateway supervisor (node)";
}

/** CPU time per request by role while `run()` (which returns a request count) runs. */
export async function cpuPerRequest(platform, run) {
  if (!existsSync("/proc/self/stat")) return { requests: await run(), roles: null };
  const [gatewayGroup, hostGroup] = platform.processGroups();
  const before = new Map(processes().map((p) => [p.pid, p.ticks]));
  const requests = await run();
  const byRole = new Map();
  for (const p of processes()) {
    const r = role(p, gatewayGroup, hostGroup);
    if (!r) continue;
    const ticks = p.ticks - (before.get(p.pid) ?? 0);
    byRole.set(r, (byRole.get(r) ?? 0) + ticks);
  }
  const roles = Object.fromEntries(
    [...byRole]
      .filter(([, ticks]) => ticks > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([r, ticks]) => [
        r,
        Math.round(((ticks / TICKS_PER_SEC) * 1e6) / Math.max(1, requests)),
      ]),
  );
  return { requests, roles };
}
