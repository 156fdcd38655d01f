import type { PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { parseOrThrow, RequestValidationError, type RequestPart } from './validation';

/**
 * Validates (and narrows) one part of a request with a zod schema; failures become a 400 problem
 * naming the fields, with `name` in front of their paths (e.g. the header's name).
 */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(
    private readonly schema: z.ZodType<T>,
    private readonly part: RequestPart,
    private readonly name = '',
  ) {}

  transform(value: unknown): T {
    if (this.part === 'body' && value === undefined) {
      throw new RequestValidationError('body', [
        { path: '', message: 'a JSON object body (Content-Type: application/json) is required' },
      ]);
    }
    return parseOrThrow(this.schema, value, this.part, this.name);
  }
}
