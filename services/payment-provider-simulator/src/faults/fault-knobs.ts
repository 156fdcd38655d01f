import type { DeclineRules, Operation } from '../provider/authorization';
import type { Behaviour } from './behaviour';
import { deriveSeed, seededRandom, type Random } from './random';

export type InjectedStatus = 500 | 503;

/**
 * What the faults do to one request, decided when it arrives. In order: wait `latencyMs`; then
 * either hang (no effect, no answer), fail (no effect, `status`), or go on to the effect; after the
 * effect, hold the answer for `delayReplyMs`, then answer or, with `dropReply`, reset the
 * connection.
 */
export interface FaultPlan {
  latencyMs: number;
  before:
    | { kind: 'proceed' }
    | { kind: 'hang' }
    | { kind: 'fail'; status: InjectedStatus; cause: 'fail-next' | 'error-rate' };
  delayReplyMs: number;
  dropReply: boolean;
}

interface Targeted {
  operations?: readonly Operation[] | undefined;
}
interface Counted extends Targeted {
  next?: number | undefined;
}

const LATENCY_STREAM = 1;
const ERROR_STREAM = 2;

function targets(knob: Targeted | undefined, operation: Operation): knob is Targeted {
  return knob !== undefined && (knob.operations?.includes(operation) ?? true);
}

/** Uses up one of a knob's `next` requests; true when the knob fires for this request. */
function take(knob: Counted): boolean {
  if (knob.next === undefined) return true;
  if (knob.next === 0) return false;
  knob.next -= 1;
  return true;
}

/**
 * The knobs and their counters, without timers or I/O. Random draws come from seeded streams,
 * one per knob, so the same seed and the same sequence of requests give the same decisions.
 */
export class FaultKnobs {
  private behaviour: Behaviour = {};
  private latencyRandom: Random;
  private errorRandom: Random;

  /** `freshSeed` is used when the behaviour sets no seed. */
  constructor(private readonly freshSeed: () => number) {
    const seed = freshSeed();
    this.latencyRandom = seededRandom(deriveSeed(seed, LATENCY_STREAM));
    this.errorRandom = seededRandom(deriveSeed(seed, ERROR_STREAM));
  }

  /** The behaviour in effect, with counters as far as they are used up. */
  current(): Behaviour {
    return structuredClone(this.behaviour);
  }

  replace(behaviour: Behaviour): void {
    this.behaviour = structuredClone(behaviour);
    const seed = behaviour.seed ?? this.freshSeed();
    this.latencyRandom = seededRandom(deriveSeed(seed, LATENCY_STREAM));
    this.errorRandom = seededRandom(deriveSeed(seed, ERROR_STREAM));
  }

  declineRules(): DeclineRules {
    const declines = this.behaviour.declines;
    return {
      amountLimit: declines?.amountLimit,
      cards: declines?.cards ?? [],
      customers: declines?.customers ?? [],
    };
  }

  plan(operation: Operation): FaultPlan {
    const plan: FaultPlan = {
      latencyMs: this.latency(operation),
      before: { kind: 'proceed' },
      delayReplyMs: 0,
      dropReply: false,
    };
    const { hang, delayedReply, dropReply } = this.behaviour;
    if (targets(hang, operation) && take(hang)) return { ...plan, before: { kind: 'hang' } };
    const failure = this.failure(operation);
    if (failure !== undefined) return { ...plan, before: failure };
    if (targets(delayedReply, operation) && take(delayedReply)) {
      plan.delayReplyMs = delayedReply.ms;
    }
    plan.dropReply = targets(dropReply, operation) && take(dropReply);
    return plan;
  }

  private latency(operation: Operation): number {
    const latency = this.behaviour.latency;
    if (!targets(latency, operation)) return 0;
    if ('ms' in latency) return latency.ms;
    const span = latency.maxMs - latency.minMs + 1;
    return latency.minMs + Math.floor(this.latencyRandom() * span);
  }

  private failure(operation: Operation): FaultPlan['before'] | undefined {
    const errors = this.behaviour.errors;
    if (!targets(errors, operation)) return undefined;
    const status = errors.status ?? 503;
    if (errors.failNext !== undefined && errors.failNext > 0) {
      errors.failNext -= 1;
      return { kind: 'fail', status, cause: 'fail-next' };
    }
    if (errors.rate !== undefined && errors.rate > 0 && this.errorRandom() < errors.rate) {
      return { kind: 'fail', status, cause: 'error-rate' };
    }
    return undefined;
  }
}
