/**
 * The `storage` capability: a key-value store per installation. The data lives in one
 * InstallationStore Durable Object per installation; the plugin receives a PluginStorage RPC stub
 * whose installation id is fixed by the platform (props), so it can never name another one.
 */
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

export const STORAGE_LIMITS = {
  maxKeyBytes: 512,
  maxValueBytes: 128 * 1024,
  maxKeys: 10_000,
  maxTotalBytes: 10 * 1024 * 1024,
  maxList: 1000,
} as const;

export class StorageLimitError extends Error {}

const byteLength = (s: string) => new TextEncoder().encode(s).length;

export class InstallationStore extends DurableObject<Env> {
  private sql = this.ctx.storage.sql;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, size INTEGER NOT NULL)",
    );
  }

  get(key: string): string | null {
    const row = this.sql
      .exec<{ value: string }>("SELECT value FROM kv WHERE key = ?", key)
      .toArray()[0];
    return row?.value ?? null;
  }

  put(key: string, value: string): void {
    if (byteLength(key) > STORAGE_LIMITS.maxKeyBytes)
      throw new StorageLimitError(`keys are at most ${STORAGE_LIMITS.maxKeyBytes} bytes`);
    const size = byteLength(key) + byteLength(value);
    if (size > STORAGE_LIMITS.maxValueBytes)
      throw new StorageLimitError(`values are at most ${STORAGE_LIMITS.maxValueBytes} bytes`);
    const totals = this.sql
      .exec<{ n: number; bytes: number | null }>(
        "SELECT count(*) AS n, sum(size) AS bytes FROM kv WHERE key != ?",
        key,
      )
      .one();
    if (totals.n + 1 > STORAGE_LIMITS.maxKeys)
      throw new StorageLimitError(`at most ${STORAGE_LIMITS.maxKeys} keys per installation`);
    if ((totals.bytes ?? 0) + size > STORAGE_LIMITS.maxTotalBytes)
      throw new StorageLimitError(`at most ${STORAGE_LIMITS.maxTotalBytes} bytes per installation`);
    this.sql.exec(
      "INSERT INTO kv (key, value, size) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size",
      key,
      value,
      size,
    );
  }

  delete(key: string): boolean {
    return this.sql.exec("DELETE FROM kv WHERE key = ?", key).rowsWritten > 0;
  }

  list(prefix: string, limit: number): string[] {
    const n = Math.min(Math.max(1, limit), STORAGE_LIMITS.maxList);
    return this.sql
      .exec<{ key: string }>(
        "SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
        prefix,
        prefix + "\uffff",
        n,
      )
      .toArray()
      .map((r) => r.key);
  }

  /** Uninstall: the installation's data goes with it. */
  async clear(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, size INTEGER NOT NULL)",
    );
  }
}

export interface StorageProps {
  installationId: string;
}

/** What a plugin holds as `env.STORAGE`: string keys and values (JSON is the SDK's business). */
export class PluginStorage extends WorkerEntrypoint<Env, StorageProps> {
  private store() {
    const ns = this.env.INSTALLATION_STORE;
    return ns.get(ns.idFromName(this.ctx.props.installationId));
  }
  get(key: string): Promise<string | null> {
    return this.store().get(String(key));
  }
  put(key: string, value: string): Promise<void> {
    return this.store().put(String(key), String(value));
  }
  delete(key: string): Promise<boolean> {
    return this.store().delete(String(key));
  }
  list(prefix = "", limit = 100): Promise<string[]> {
    return this.store().list(String(prefix), Number(limit));
  }
}
