/**
 * The shell examples of a markdown document, as one bash script that runs them in order.
 *
 * Every ```sh block runs, unless the line before it is `<!-- not run here: … -->` naming the test
 * that runs it instead (checked by docs-examples.test.ts). The prelude makes a failed call fail
 * the script: `set -euo pipefail`, and every `curl` fails on an HTTP error status unless it shows
 * the status itself (`-w`, `-i`, `-D`), which is how an example shows an expected refusal.
 */
export const PRELUDE = `set -euo pipefail
curl() {
  case " $* " in
    *" -w "*|*" --write-out "*|*" -i "*|*" -si "*|*" -is "*|*" -D "*) command curl "$@" ;;
    *) command curl --fail-with-body "$@" ;;
  esac
}
`;

export interface ShellBlock {
  line: number;
  body: string;
  /** Why it does not run here (and which test runs it), or null. */
  notRunHere: string | null;
}

export function shellBlocks(markdown: string): ShellBlock[] {
  const out: ShellBlock[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const before = markdown.slice(0, m.index).trimEnd().split("\n").at(-1) ?? "";
    const skip = /^<!-- not run here: (.+) -->$/.exec(before.trim());
    out.push({
      line: markdown.slice(0, m.index).split("\n").length,
      body: m[1] ?? "",
      notRunHere: skip ? (skip[1] ?? "") : null,
    });
  }
  return out;
}

/** The script for one document: its runnable blocks, each announced on stderr by its line. */
export function docScript(markdown: string, name: string): string {
  const blocks = shellBlocks(markdown).filter((b) => b.notRunHere === null);
  return (
    PRELUDE +
    blocks.map((b) => `echo "::: ${name}:${b.line}" >&2\n${b.body}`).join("\n") +
    "\necho '::: done' >&2\n"
  );
}
