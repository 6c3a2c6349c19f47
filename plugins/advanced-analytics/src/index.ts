import { PluginError, definePlugin } from "@atoll/sdk";

interface Input {
  values?: number[];
  /** Points of a series; a least-squares trend is fitted when given. */
  series?: { t: number; v: number }[];
}

export interface Stats {
  count: number;
  sum: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  stddev: number;
  p90: number;
  p99: number;
  trend?: { slope: number; intercept: number };
}

const MAX_POINTS = 100_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 1) return sorted[0] as number;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function stats(input: Input): Stats {
  const values = input.series ? input.series.map((p) => p.v) : input.values;
  if (!Array.isArray(values) || values.length === 0)
    throw new PluginError(400, "give values: number[] or series: {t, v}[] (not empty)");
  if (values.length > MAX_POINTS) throw new PluginError(400, `at most ${MAX_POINTS} points`);
  if (!values.every((v) => typeof v === "number" && Number.isFinite(v)))
    throw new PluginError(400, "every value must be a finite number");
  const sorted = [...values].sort((a, b) => a - b);
  const sum = values.reduce((a, b) => a + b, 0);
  const mean = sum / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  const out: Stats = {
    count: values.length,
    sum: round(sum),
    mean: round(mean),
    median: round(percentile(sorted, 50)),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    stddev: round(Math.sqrt(variance)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
  };
  if (input.series && input.series.length >= 2) {
    const n = input.series.length;
    const mt = input.series.reduce((a, p) => a + p.t, 0) / n;
    const num = input.series.reduce((a, p) => a + (p.t - mt) * (p.v - mean), 0);
    const den = input.series.reduce((a, p) => a + (p.t - mt) ** 2, 0);
    const slope = den === 0 ? 0 : num / den;
    out.trend = { slope: round(slope), intercept: round(mean - slope * mt) };
  }
  return out;
}

export default definePlugin<unknown, Input, Stats>({
  execute: (input) => stats(input),
  routes(router) {
    router.post("/stats", async (req) => stats((await req.json()) as Input));
  },
});
