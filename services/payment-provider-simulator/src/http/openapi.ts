import type { ApiHeaderOptions, ApiResponseOptions, SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';

/** The OpenAPI form of a zod schema, so the docs describe exactly what the pipes accept. */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', unrepresentable: 'any' }) as SchemaObject;
}

export const IDEMPOTENCY_KEY_HEADER: ApiHeaderOptions = {
  name: 'Idempotency-Key',
  required: true,
  description:
    'Required on every mutating call. The same key with the same endpoint and body replays the stored answer (status and body) without a second effect; with anything else it is 422.',
};

const PROBLEM_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail', 'code'],
};

export function problemResponse(status: number, description: string): ApiResponseOptions {
  return {
    status,
    description,
    content: { 'application/problem+json': { schema: PROBLEM_SCHEMA } },
  };
}
