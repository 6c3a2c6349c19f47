/** The drift check itself (test/contract.ts) catches what it is there to catch. */
import { describe, expect, it } from "vitest";
import { Contract, type ContractDocument } from "../contract";

const problem = {
  "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
};
const doc: ContractDocument = {
  paths: {
    "/v1/things/{id}": {
      get: {
        operationId: "getThing",
        responses: {
          200: {
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["id", "owner"],
                  properties: {
                    id: { type: "string" },
                    owner: { anyOf: [{ $ref: "#/components/schemas/Owner" }, { type: "null" }] },
                  },
                },
              },
            },
          },
          404: { content: problem },
        },
      },
      delete: { responses: { 204: {} } },
    },
    "/v1/things/mine": { get: { responses: { 200: { content: { "text/plain": {} } } } } },
    "/p/{installationId}/{path}": { get: { responses: { 502: { content: problem } } } },
  },
  components: {
    schemas: {
      Problem: {
        type: "object",
        required: ["type", "status"],
        properties: { type: { type: "string" }, status: { type: "integer" } },
      },
      Owner: { type: "object", required: ["email"], properties: { email: { type: "string" } } },
    },
  },
};
const contract = new Contract(doc);
const json = "application/json";
const seen = (over: Partial<Parameters<Contract["check"]>[0]>) =>
  contract.check({
    method: "GET",
    path: "/v1/things/t1",
    status: 200,
    contentType: json,
    body: JSON.stringify({ id: "t1", owner: { email: "a@b.test" } }),
    ...over,
  });

describe("the drift check", () => {
  it("passes what the document promises, nullable references included", () => {
    expect(seen({})).toEqual([]);
    expect(seen({ body: '{"id":"t1","owner":null}' })).toEqual([]);
    expect(seen({ method: "DELETE", status: 204, contentType: null, body: "" })).toEqual([]);
    expect(
      seen({ path: "/v1/things/mine", contentType: "text/plain; charset=utf-8", body: "x" }),
    ).toEqual([]);
  });

  it("fails an undocumented status, content type, body or path", () => {
    expect(seen({ status: 400 })[0]).toMatch(/status 400 is not documented/);
    expect(seen({ contentType: "text/html" })[0]).toMatch(/content type text\/html/);
    expect(seen({ body: '{"id":1,"owner":null}' })[0]).toMatch(/does not match the schema/);
    expect(seen({ body: '{"id":"t1","owner":{}}' })[0]).toMatch(/does not match the schema/);
    expect(seen({ body: "not json" })[0]).toMatch(/not JSON/);
    expect(seen({ method: "DELETE", status: 204, body: "x" })[0]).toMatch(/promises none/);
    expect(seen({ path: "/v1/elsewhere", status: 200 })[0]).toMatch(/undocumented path/);
    expect(seen({ method: "PUT", status: 200 })[0]).toMatch(/no PUT operation/);
  });

  it("prefers the literal template, and holds unknown paths to problem documents", () => {
    expect(seen({ path: "/v1/things/mine" })[0]).toMatch(/content type application\/json/);
    const notFound = { path: "/v1/nothing", status: 404, body: '{"type":"x","status":404}' };
    expect(seen({ ...notFound, contentType: "application/problem+json" })).toEqual([]);
    expect(seen({ ...notFound, contentType: json })[0]).toMatch(/problem document/);
  });

  it("leaves plugins' own answers to the plugin but checks the gateway's problems", () => {
    const path = "/p/ins_1/anything/deep";
    expect(seen({ path, status: 418, contentType: "text/x-teapot", pluginAnswer: true })).toEqual(
      [],
    );
    expect(
      seen({ path, status: 502, contentType: "application/problem+json", body: "{}" })[0],
    ).toMatch(/does not match/);
  });

  it("ignores what is not the API (the web UI, the reference page)", () => {
    expect(seen({ path: "/dashboard", contentType: "text/html", status: 200 })).toEqual([]);
  });
});
