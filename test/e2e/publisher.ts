/**
 * A fresh publisher on the running platform (over HTTP): signed up under a random slug, verified
 * (its packages skip review under the harness's ATOLL_AUTO_APPROVE=verified) and on the
 * enterprise plan (its tests never meet another file's rate limit).
 */
export async function verifiedPublisher(
  base: string,
  operatorKey: string,
  prefix: string,
): Promise<{ apiKey: string; slug: string; orgId: string }> {
  const tag = `${prefix}${Math.random().toString(36).slice(2, 8)}`;
  const res = await fetch(`${base}/v1/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      email: `${tag}@example.test`,
      name: tag,
      organization: { name: tag, slug: tag },
    }),
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { apiKey: string; organization: { id: string; slug: string } };
  for (const [path, json] of [
    ["verified", { verified: true }],
    ["plan", { plan: "enterprise" }],
  ] as const) {
    const r = await fetch(`${base}/v1/operator/organizations/${body.organization.id}/${path}`, {
      method: "PUT",
      headers: { "x-api-key": operatorKey, "content-type": "application/json" },
      body: JSON.stringify(json),
    });
    if (r.status !== 200) throw new Error(`operator ${path}: ${r.status}`);
  }
  return { apiKey: body.apiKey, slug: body.organization.slug, orgId: body.organization.id };
}
