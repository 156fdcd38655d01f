import type { z } from 'zod';

export type RequestPart = 'body' | 'header' | 'query';

export interface InvalidField {
  /** Where the problem is, as a dotted path ('' for the whole body). */
  path: string;
  message: string;
}

/** A request that does not match its schema; answered 400 with the list of problems. */
export class RequestValidationError extends Error {
  override readonly name = 'RequestValidationError';

  constructor(
    readonly part: RequestPart,
    readonly errors: InvalidField[],
  ) {
    super(
      `invalid ${part}: ${errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; ')}`,
    );
  }
}

/** Parses `value` with `schema` or throws a RequestValidationError for `part`. */
export function parseOrThrow<T>(
  schema: z.ZodType<T>,
  value: unknown,
  part: RequestPart,
  name = '',
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new RequestValidationError(
    part,
    result.error.issues.map((issue) => ({
      path: [name, ...issue.path.map(String)].filter((segment) => segment !== '').join('.'),
      message: issue.message,
    })),
  );
}
