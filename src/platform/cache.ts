/**
 * Per-isolate caches. `TtlCache` is a bounded map whose entries expire; `perBinding` keeps one
 * value per D1 binding object, so that each environment (and each isolated test file) has its own
 * caches. A change made in this isolate clears what it affects at once; other isolates see it
 * within the TTL.
 */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 20_000,
  ) {}
  get(key: string, now = Date.now()): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (now >= hit.until) {
      this.map.delete(key);
      return undefined;
    }
    return hit.value;
  }
  set(key: string, value: V, now = Date.now()): void {
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, until: now + this.ttlMs });
  }
  deleteWhere(pred: (value: V, key: string) => boolean): void {
    for (const [k, v] of this.map) if (pred(v.value, k)) this.map.delete(k);
  }
  clear(): void {
    this.map.clear();
  }
}

const bound = new WeakMap<object, Map<string, unknown>>();

/** The value `make()` built for this binding object under `name` (made once per isolate and binding). */
export function perBinding<T>(binding: object, name: string, make: () => T): T {
  let slot = bound.get(binding);
  if (!slot) {
    slot = new Map();
    bound.set(binding, slot);
  }
  let value = slot.get(name) as T | undefined;
  if (value === undefined) {
    value = make();
    slot.set(name, value);
  }
  return value;
}
