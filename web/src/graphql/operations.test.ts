import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { buildSchema, validate } from "graphql";
import { describe, expect, it } from "vitest";

import { RETRY_IMAGE } from "./optional";
import { ALL_OPERATIONS } from "./operations";

// The server's exported SDL (`make schema`; a pytest test keeps it current with the code).
// Vitest runs in web/.
const schema = buildSchema(readFileSync(resolve(process.cwd(), "..", "schema.graphql"), "utf8"));

describe("every operation the app sends", () => {
  it.each(Object.entries(ALL_OPERATIONS))("%s is valid against schema.graphql", (_name, document) => {
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });

  it("sends retryImage only where the schema has it", () => {
    const hasRetry = schema.getMutationType()?.getFields().retryImage !== undefined;
    expect(validate(schema, RETRY_IMAGE).length === 0).toBe(hasRetry);
  });
});
