/**
 * Types of `@atoll/cli/testing` (dist/testing.mjs; source: src/testing.ts and src/standalone.ts).
 * Written by hand; src/testing-types.check.ts holds it to the source (tsc).
 */
export interface LogLine {
  id: number;
  at: string | number;
  level: string;
  message: string;
  stack?: string;
}

export interface DevServer {
  /** Where the plugin answers (http://127.0.0.1:<port>). */
  url: string;
  /** Rebuilds and loads the new code; storage and the URL stay. */
  reload(): Promise<unknown>;
  /** Calls initialize, execute or cleanup with a JSON payload. */
  lifecycle(
    hook: string,
    payload: unknown,
  ): Promise<{ implemented: boolean; status: number; body: unknown }>;
  /** The plugin's console output and exceptions after cursor `after` (redacted). */
  logs(after: number): Promise<{ logs: LogLine[]; next: number }>;
  stop(): Promise<void>;
}

/**
 * Builds the plugin in `dir` and serves it on workerd (needs Node 22.12+ and wrangler).
 * `state`: where storage is kept (default `<dir>/.atoll/dev`); `fresh`: empty storage in a
 * temporary folder, removed by stop() (for tests); `port`: default a free one.
 */
export function startDevServer(
  dir: string,
  opts?: { port?: number; log?: (line: string) => void; state?: string; fresh?: boolean },
): Promise<DevServer>;
