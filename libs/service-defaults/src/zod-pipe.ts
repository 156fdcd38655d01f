import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { ValidationProblem } from './problem-details';

/** Formats zod issues as `{ path, message }` pairs for problem details. */
export function zodErrors(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/**
 * Validates a request part against a zod schema: `@Body(new ZodPipe(PlaceOrderBody))`.
 * Unknown keys are refused when the schema is strict (`z.strictObject`), which also refuses
 * `__proto__` and `constructor` keys smuggled into a body.
 */
export class ZodPipe<Schema extends z.ZodType> implements PipeTransform<unknown, z.infer<Schema>> {
  constructor(
    private readonly schema: Schema,
    private readonly what = 'request',
  ) {}

  transform(value: unknown): z.infer<Schema> {
    const result = this.schema.safeParse(value);
    if (!result.success)
      throw new ValidationProblem(`the ${this.what} is invalid`, zodErrors(result.error));
    return result.data;
  }
}
