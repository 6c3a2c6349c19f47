/** The part of each generated SDK's README that is the same in every language: one section per tag. */
import { mdText } from "./escape";
import type { Operation } from "./spec";

/**
 * One markdown section per operation group (tag): every method with its HTTP line, and an example
 * call (a GET where the group has one). `example` writes the call in the SDK's language.
 */
export function operationSections<N extends { method: string; op: Operation }>(
  ops: N[],
  fence: string,
  example: (ex: N | undefined, pathArgs: string[]) => string,
): string[] {
  const tags = [...new Set(ops.map((n) => n.op.tag))];
  return tags.map((tag) => {
    const inTag = ops.filter((n) => n.op.tag === tag);
    const ex = inTag.find((n) => n.op.method === "GET") ?? inTag[0];
    const pathArgs = ex ? ex.op.pathParams.map(() => '"…"') : [];
    return `### ${mdText(tag)}

${inTag.map((n) => `- \`${n.method}()\` — ${mdText(`${n.op.method} ${n.op.path}${n.op.summary ? `: ${n.op.summary}` : ""}`)}`).join("\n")}

\`\`\`${fence}
${example(ex, pathArgs)}
\`\`\``;
  });
}
