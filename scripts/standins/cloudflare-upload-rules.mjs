// What Cloudflare checks when a script is uploaded into a Workers for Platforms dispatch
// namespace, as the API stand-in (./cloudflare-api.mjs) enforces it. Pure: it gets the parsed
// metadata and the module parts and answers null (accepted) or the refusal, in Cloudflare's
// envelope terms (a status, an error code, a message naming what is wrong).
//
// Sources: the Workers upload metadata reference (main_module, compatibility_date, bindings of
// each type with its fields, tags, tail_consumers), the Workers limits (5 KB per environment
// variable or secret, 64 of them per Worker, 10 MB per Worker after compression on the paid plan)
// and the Workers for Platforms limits (eight tags per script; no special characters in tags).
import { gzipSync } from "node:zlib";

/** Cloudflare's 5 KB per binding value, read as 5 × 1,024 bytes (the platform stays at 5,000). */
export const MAX_BINDING_VALUE_BYTES = 5 * 1024;
/** Text, secret and json bindings per Worker (environment variables and secrets). */
export const MAX_VALUE_BINDINGS = 64;
/** A Worker's size after compression (paid plan). */
export const MAX_COMPRESSED_BYTES = 10 * 1024 * 1024;
export const MAX_TAGS = 8;
/** The safe tag alphabet: nothing that clashes with tag filters (`:`, `,`) or paths (`/`). */
export const TAG_PATTERN = /^[a-z0-9_-]{1,64}$/;
const BINDING_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Module part content types Workers accept, by what they become. */
export const MODULE_TYPES = new Set([
  "application/javascript+module",
  "text/javascript+module",
  "application/javascript",
  "text/javascript",
  "application/wasm",
  "text/plain",
  "application/octet-stream",
  "application/json",
  "application/source-map",
]);

const METADATA_KEYS = new Set([
  "main_module",
  "compatibility_date",
  "compatibility_flags",
  "bindings",
  "tags",
  "tail_consumers",
  "keep_bindings",
  "limits",
  "observability",
  "placement",
  "usage_model",
  "logpush",
]);

/** Each binding type the platform uploads, with its documented fields (required, optional). */
const BINDING_FIELDS = {
  plain_text: { required: ["text"], optional: [] },
  secret_text: { required: ["text"], optional: [] },
  json: { required: ["json"], optional: [] },
  service: { required: ["service"], optional: ["environment", "entrypoint", "props"] },
};

const refuse = (message, code = 10021, status = 400) => ({ status, code, message });
const bytes = (s) => Buffer.byteLength(s, "utf8");
const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * @param {unknown} metadata the parsed `metadata` part
 * @param {{ name: string, type: string, size: number, content: Buffer }[]} parts the other parts
 * @param {{ services: Record<string, string[]>, today: string }} world the account's Workers and
 *   their entrypoints (what service bindings and tail consumers may name), and today (UTC)
 */
export function checkUpload(metadata, parts, world) {
  if (!isObject(metadata)) return refuse("metadata must be a JSON object");
  for (const key of Object.keys(metadata))
    if (!METADATA_KEYS.has(key)) return refuse(`metadata: unknown field "${key}"`);
  const names = parts.map((p) => p.name);
  if (new Set(names).size !== names.length) return refuse("two module parts share a name");
  for (const p of parts)
    if (!MODULE_TYPES.has(p.type))
      return refuse(`module ${p.name}: content type "${p.type}" is not one Workers accepts`);
  if (typeof metadata.main_module !== "string" || !names.includes(metadata.main_module))
    return refuse("main_module must name an uploaded module part", 10021);
  const main = parts.find((p) => p.name === metadata.main_module);
  if (!/javascript\+module$/.test(main.type))
    return refuse(`main_module ${main.name} must be an ES module (application/javascript+module)`);
  const compressed = gzipSync(Buffer.concat(parts.map((p) => p.content))).byteLength;
  if (compressed > MAX_COMPRESSED_BYTES)
    return refuse(
      `the Worker is ${compressed} bytes compressed; at most ${MAX_COMPRESSED_BYTES}`,
      10027,
    );

  const date = metadata.compatibility_date;
  if (
    typeof date !== "string" ||
    !/^\d{4}-\d{2}-\d{2}$/.test(date) ||
    Number.isNaN(Date.parse(date))
  )
    return refuse("compatibility_date must be a date, YYYY-MM-DD");
  if (new Date(date).toISOString().slice(0, 10) !== date)
    return refuse(`compatibility_date ${date} is not a calendar date`);
  if (date > world.today) return refuse(`compatibility_date ${date} is in the future`);

  const tags = metadata.tags ?? [];
  if (!Array.isArray(tags)) return refuse("tags must be a list");
  if (tags.length > MAX_TAGS)
    return refuse(`${tags.length} tags; a script has at most ${MAX_TAGS}`);
  for (const t of tags)
    if (typeof t !== "string" || !TAG_PATTERN.test(t))
      return refuse(`tag ${JSON.stringify(t)} is outside the safe alphabet (a-z, 0-9, - and _)`);
  if (new Set(tags).size !== tags.length) return refuse("tags repeat");

  const bindings = metadata.bindings ?? [];
  if (!Array.isArray(bindings)) return refuse("bindings must be a list");
  const seen = new Set();
  let values = 0;
  for (const b of bindings) {
    if (!isObject(b) || typeof b.name !== "string" || typeof b.type !== "string")
      return refuse("each binding has a type and a name");
    if (!BINDING_NAME.test(b.name)) return refuse(`binding name "${b.name}" is not valid`);
    if (seen.has(b.name)) return refuse(`binding name "${b.name}" is used twice`);
    seen.add(b.name);
    const fields = BINDING_FIELDS[b.type];
    if (!fields)
      return refuse(`binding ${b.name}: type "${b.type}" is not one the stand-in models`);
    for (const f of fields.required)
      if (!(f in b)) return refuse(`binding ${b.name} (${b.type}) needs "${f}"`);
    for (const f of Object.keys(b))
      if (
        f !== "type" &&
        f !== "name" &&
        !fields.required.includes(f) &&
        !fields.optional.includes(f)
      )
        return refuse(`binding ${b.name} (${b.type}): unknown field "${f}"`);
    if (b.type === "plain_text" || b.type === "secret_text") {
      if (typeof b.text !== "string") return refuse(`binding ${b.name}: text must be a string`);
      if (bytes(b.text) > MAX_BINDING_VALUE_BYTES)
        return refuse(
          `binding ${b.name}: ${bytes(b.text)} bytes; a value holds at most 5 KB`,
          10054,
        );
      values++;
    }
    if (b.type === "json") {
      const size = bytes(JSON.stringify(b.json) ?? "");
      if (size > MAX_BINDING_VALUE_BYTES)
        return refuse(
          `binding ${b.name}: ${size} bytes of JSON; a value holds at most 5 KB`,
          10054,
        );
      values++;
    }
    if (b.type === "service") {
      if (typeof b.service !== "string") return refuse(`binding ${b.name}: service must be a name`);
      const entrypoints = world.services[b.service];
      if (!entrypoints)
        return refuse(`binding ${b.name}: the Worker "${b.service}" does not exist`, 10143);
      if (b.entrypoint !== undefined && !entrypoints.includes(b.entrypoint))
        return refuse(
          `binding ${b.name}: "${b.service}" has no entrypoint "${b.entrypoint}"`,
          10143,
        );
      if (b.props !== undefined && !isObject(b.props))
        return refuse(`binding ${b.name}: props must be an object`);
    }
  }
  if (values > MAX_VALUE_BINDINGS)
    return refuse(`${values} text, secret and json bindings; at most ${MAX_VALUE_BINDINGS}`);

  const tails = metadata.tail_consumers ?? [];
  if (!Array.isArray(tails)) return refuse("tail_consumers must be a list");
  for (const t of tails)
    if (!isObject(t) || typeof t.service !== "string" || !world.services[t.service])
      return refuse(`tail consumer ${JSON.stringify(t)} is not a Worker of the account`, 10143);
  return null;
}

/** What Cloudflare's "get script bindings" answers: values of json and plain_text, never secrets. */
export function readableBindings(bindings) {
  return bindings.map((b) => (b.type === "secret_text" ? { type: b.type, name: b.name } : b));
}
