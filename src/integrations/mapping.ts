/**
 * Field mappings for data sync, pure: each rule produces one target field from the source record
 * — a path (`properties.email`, or a top-level field), a concatenation of paths, or a default —
 * then applies simple transforms (trim, lowercase, uppercase) and an optional date format.
 * A mapping is validated against the fields the connectors declare before a sync is created.
 */
import { z } from "@hono/zod-openapi";
import type { Result } from "../contract/result";

const PATH = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+){0,4}$/, "must be a field name or a dotted path");

export const MappingRule = z
  .object({
    to: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,80}$/, "must be a target field name"),
    from: PATH.optional(),
    concat: z
      .object({ from: z.array(PATH).min(2).max(5), separator: z.string().max(5).default(" ") })
      .strict()
      .optional(),
    transforms: z
      .array(z.enum(["trim", "lowercase", "uppercase"]))
      .max(3)
      .default([]),
    default: z.string().max(500).optional(),
    dateFormat: z
      .enum(["iso", "date", "epoch-ms"])
      .optional()
      .describe("iso: 2026-11-25T10:00:00.000Z; date: 2026-11-25; epoch-ms: 1795600800000"),
  })
  .strict()
  .refine(
    (r) => (r.from === undefined ? 0 : 1) + (r.concat === undefined ? 0 : 1) <= 1,
    "use either from or concat, not both",
  )
  .refine(
    (r) => r.from !== undefined || r.concat !== undefined || r.default !== undefined,
    "needs from, concat or default",
  )
  // The refines above, for clients: from, concat or default, never from and concat together.
  .openapi({
    anyOf: [{ required: ["from"] }, { required: ["concat"] }, { required: ["default"] }],
    not: { properties: { from: {}, concat: {} }, required: ["from", "concat"] },
  });

export const Mapping = z.array(MappingRule).min(1).max(50);
export type MappingRule = z.infer<typeof MappingRule>;

/** Problems with a mapping for these source and target fields (empty: valid). */
export function checkMapping(
  rules: MappingRule[],
  sourceFields: readonly string[],
  targetFields: readonly string[],
  requiredTarget: readonly string[] = [],
): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  const source = new Set(["id", "modifiedAt", ...sourceFields]);
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (!targetFields.includes(r.to))
      errors.push({
        path: `mapping[${i}].to`,
        message: `${r.to} is not a field of the target (fields: ${targetFields.join(", ")})`,
      });
    if (seen.has(r.to))
      errors.push({ path: `mapping[${i}].to`, message: `${r.to} is mapped twice` });
    seen.add(r.to);
    for (const [j, p] of (r.from ? [r.from] : (r.concat?.from ?? [])).entries()) {
      const head = p.split(".")[0] ?? p;
      if (!source.has(head))
        errors.push({
          path: r.from ? `mapping[${i}].from` : `mapping[${i}].concat.from[${j}]`,
          message: `${p} is not a field of the source (fields: ${[...source].join(", ")})`,
        });
    }
  });
  for (const f of requiredTarget)
    if (!seen.has(f)) errors.push({ path: "mapping", message: `the target requires ${f}; map it` });
  return errors;
}

function at(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const text = (v: unknown): string | undefined =>
  v === null || v === undefined ? undefined : typeof v === "object" ? JSON.stringify(v) : String(v);

function formatDate(value: string, format: "iso" | "date" | "epoch-ms"): string | null {
  const ms = /^\d{10,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) return null;
  const d = new Date(ms);
  return format === "iso"
    ? d.toISOString()
    : format === "date"
      ? d.toISOString().slice(0, 10)
      : String(d.getTime());
}

export type Applied = Result<{ fields: Record<string, string> }, { error: string }>;

/** The target fields for one source record. */
export function applyMapping(
  rules: MappingRule[],
  record: Record<string, unknown>,
  requiredTarget: readonly string[] = [],
): Applied {
  const fields: Record<string, string> = {};
  for (const r of rules) {
    let v = r.from
      ? text(at(record, r.from))
      : r.concat
        ? r.concat.from
            .map((p) => text(at(record, p)) ?? "")
            .filter((s) => s !== "")
            .join(r.concat.separator)
        : undefined;
    if (v === undefined || v === "") v = r.default;
    if (v === undefined) continue;
    for (const t of r.transforms)
      v = t === "trim" ? v.trim() : t === "lowercase" ? v.toLowerCase() : v.toUpperCase();
    if (r.dateFormat) {
      const d = formatDate(v, r.dateFormat);
      if (d === null) return { ok: false, error: `${r.to}: "${v.slice(0, 40)}" is not a date` };
      v = d;
    }
    fields[r.to] = v;
  }
  for (const f of requiredTarget)
    if (!fields[f])
      return {
        ok: false,
        error: `${f} is required by the target but the record has no value for it`,
      };
  return { ok: true, fields };
}
