import { z } from 'zod';
import { OPERATIONS } from '../provider/authorization';

const MAX_MS = 600_000;

/** Which calls a knob applies to; absent means all four. */
const operations = z.array(z.enum(OPERATIONS)).min(1).optional();
/** Limits a knob to the next n matching requests; absent means every matching request. */
const next = z.int().min(0).max(1_000_000).optional();
const ms = z.int().min(0).max(MAX_MS);

/**
 * The runtime knobs. PUT /admin/behaviour replaces the whole object; GET shows it with the
 * counters (`failNext`, `next`) as far as they have been used up.
 */
export const BehaviourSchema = z.strictObject({
  /** Makes latency ranges and error rates reproducible; absent: a fresh random seed. */
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  latency: z
    .union([
      z.strictObject({ ms, operations }),
      z
        .strictObject({ minMs: ms, maxMs: ms, operations })
        .refine((range) => range.minMs <= range.maxMs, 'minMs must not exceed maxMs'),
    ])
    .optional(),
  errors: z
    .strictObject({
      /** Fraction of matching requests answered with `status` and no effect. */
      rate: z.number().min(0).max(1).optional(),
      /** Fail exactly the next n matching requests (before the rate applies). */
      failNext: z.int().min(0).max(1_000_000).optional(),
      status: z.union([z.literal(500), z.literal(503)]).optional(),
      operations,
    })
    .optional(),
  declines: z
    .strictObject({
      amountLimit: z.int().min(0).optional(),
      cards: z.array(z.string().min(1).max(64)).max(1000).optional(),
      customers: z.array(z.string().min(1).max(200)).max(1000).optional(),
    })
    .optional(),
  /** Accept and never answer, with no effect. */
  hang: z.strictObject({ operations, next }).optional(),
  /** Apply the effect at once, answer after `ms`. */
  delayedReply: z.strictObject({ ms, operations, next }).optional(),
  /** Apply the effect, then reset the connection instead of answering. */
  dropReply: z.strictObject({ operations, next }).optional(),
});
export type Behaviour = z.infer<typeof BehaviourSchema>;
