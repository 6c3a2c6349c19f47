/**
 * The credential vault: connection credentials and grants sealed with AES-GCM under
 * ATOLL_SECRET_KEY, bound to the connection id (a ciphertext moved to another row does not open),
 * and stamped with a key id so a rotation can keep the previous key (ATOLL_VAULT_PREVIOUS_KEY)
 * until everything is re-sealed.
 */
import { decryptString, encryptString } from "../platform/crypto/aead";
import { sha256Hex } from "../platform/crypto/hash";

export async function keyIdOf(key: string): Promise<string> {
  return (await sha256Hex(`atoll-vault:${key}`)).slice(0, 12);
}

export async function seal(
  env: Pick<Env, "ATOLL_SECRET_KEY">,
  connectionId: string,
  what: "credentials" | "grant",
  value: unknown,
): Promise<{ enc: string; keyId: string }> {
  return {
    enc: await encryptString(
      env.ATOLL_SECRET_KEY,
      JSON.stringify(value),
      `connection:${connectionId}:${what}`,
    ),
    keyId: await keyIdOf(env.ATOLL_SECRET_KEY),
  };
}

export async function open<T>(
  env: Pick<Env, "ATOLL_SECRET_KEY" | "ATOLL_VAULT_PREVIOUS_KEY">,
  connectionId: string,
  what: "credentials" | "grant",
  enc: string,
  keyId: string,
): Promise<T> {
  const keys = [env.ATOLL_SECRET_KEY, env.ATOLL_VAULT_PREVIOUS_KEY].filter((k): k is string =>
    Boolean(k),
  );
  for (const key of keys) {
    if ((await keyIdOf(key)) === keyId)
      return JSON.parse(await decryptString(key, enc, `connection:${connectionId}:${what}`)) as T;
  }
  throw new Error(`the vault has no key ${keyId}`);
}
