import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../provider/authorization';
import { BehaviourSchema, type Behaviour } from './behaviour';
import { FaultKnobs, type FaultPlan } from './fault-knobs';
import { seededRandom } from './random';

function knobs(behaviour: Behaviour): FaultKnobs {
  const state = new FaultKnobs(() => 12345);
  state.replace(BehaviourSchema.parse(behaviour));
  return state;
}

const PROCEED: FaultPlan = {
  latencyMs: 0,
  before: { kind: 'proceed' },
  delayReplyMs: 0,
  dropReply: false,
};

function plans(state: FaultKnobs, operation: Operation, count: number): FaultPlan[] {
  return Array.from({ length: count }, () => state.plan(operation));
}

describe('seeded random', () => {
  it('when two generators share a seed, then they draw the same numbers in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const draws = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      draws,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(draws.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(draws.slice(0, 10), Array.from({ length: 10 }, seededRandom(43)));
    const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
    assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
  });
});

describe('fault knobs', () => {
  it('when no knob is set, then every request proceeds untouched', () => {
    assert.deepEqual(plans(knobs({}), 'authorize', 3), [PROCEED, PROCEED, PROCEED]);
  });

  it('when failNext is 2, then exactly the next two matching requests fail', () => {
    const state = knobs({ errors: { failNext: 2, status: 500, operations: ['capture'] } });
    assert.deepEqual(state.plan('authorize'), PROCEED);
    const fail = { ...PROCEED, before: { kind: 'fail', status: 500, cause: 'fail-next' } };
    assert.deepEqual(plans(state, 'capture', 3), [fail, fail, PROCEED]);
    assert.deepEqual(state.current(), {
      errors: { failNext: 0, status: 500, operations: ['capture'] },
    });
  });

  it('when an error rate is set with a seed, then the same seed gives the same failures', () => {
    const outcomes = (seed: number) =>
      plans(knobs({ seed, errors: { rate: 0.3 } }), 'authorize', 200).map(
        (plan) => plan.before.kind,
      );
    const first = outcomes(9);
    assert.deepEqual(outcomes(9), first);
    assert.notDeepEqual(outcomes(10), first);
    const failures = first.filter((kind) => kind === 'fail').length;
    assert.ok(failures > 30 && failures < 90, `${failures} of 200 failed at rate 0.3`);
  });

  it('when a latency range is set with a seed, then latencies are within it and reproducible', () => {
    const latencies = (seed: number) =>
      plans(knobs({ seed, latency: { minMs: 200, maxMs: 2000 } }), 'refund', 100).map(
        (plan) => plan.latencyMs,
      );
    const first = latencies(3);
    assert.deepEqual(latencies(3), first);
    assert.ok(first.every((ms) => Number.isInteger(ms) && ms >= 200 && ms <= 2000));
    assert.ok(new Set(first).size > 50, 'latencies should vary');
  });

  it('when latency and errors share a seed, then adding latency does not change which requests fail', () => {
    const failures = (behaviour: Behaviour) =>
      plans(knobs(behaviour), 'authorize', 50).map((plan) => plan.before.kind);
    assert.deepEqual(
      failures({ seed: 5, errors: { rate: 0.5 } }),
      failures({ seed: 5, errors: { rate: 0.5 }, latency: { minMs: 1, maxMs: 9 } }),
    );
  });

  it('when hang is limited to next 1, then one request hangs and it does not use up failNext', () => {
    const state = knobs({ hang: { next: 1 }, errors: { failNext: 1 } });
    assert.deepEqual(state.plan('void').before, { kind: 'hang' });
    assert.deepEqual(state.plan('void').before, { kind: 'fail', status: 503, cause: 'fail-next' });
    assert.deepEqual(state.plan('void'), PROCEED);
  });

  it('when delayed and dropped replies are set, then they apply after the effect, only where targeted', () => {
    const state = knobs({
      delayedReply: { ms: 1500, operations: ['authorize'] },
      dropReply: { operations: ['authorize', 'capture'], next: 1 },
    });
    assert.deepEqual(state.plan('capture'), { ...PROCEED, dropReply: true });
    assert.deepEqual(state.plan('authorize'), { ...PROCEED, delayReplyMs: 1500 });
    assert.deepEqual(state.plan('refund'), PROCEED);
  });

  it('when a request fails, then it does not use up delayed or dropped replies', () => {
    const state = knobs({ errors: { failNext: 1 }, dropReply: { next: 1 } });
    assert.equal(state.plan('authorize').dropReply, false);
    assert.equal(state.plan('authorize').dropReply, true);
  });

  it('when decline rules are set, then declineRules returns them with empty lists by default', () => {
    assert.deepEqual(knobs({ declines: { amountLimit: 10 } }).declineRules(), {
      amountLimit: 10,
      cards: [],
      customers: [],
    });
    assert.deepEqual(knobs({}).declineRules(), {
      amountLimit: undefined,
      cards: [],
      customers: [],
    });
  });

  it('when the behaviour is read, then it is a copy: changing it does not change the knobs', () => {
    const state = knobs({ errors: { failNext: 1 } });
    const copy = state.current();
    if (copy.errors) copy.errors.failNext = 5;
    assert.deepEqual(state.current(), { errors: { failNext: 1 } });
  });
});
