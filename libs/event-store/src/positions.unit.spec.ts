import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  comparePositions,
  formatPosition,
  parsePosition,
  START,
  type GlobalPosition,
} from './types';

const at = (commit: bigint, position: bigint): GlobalPosition => ({ commit, position });

describe('global positions', () => {
  it('when commits differ, then the commit decides the order even against a larger position', () => {
    assert.equal(comparePositions(at(5n, 100n), at(6n, 1n)), -1);
    assert.equal(comparePositions(at(6n, 1n), at(5n, 100n)), 1);
  });

  it('when commits are equal, then the position decides; equal pairs compare as 0', () => {
    assert.equal(comparePositions(at(5n, 1n), at(5n, 2n)), -1);
    assert.equal(comparePositions(at(5n, 2n), at(5n, 1n)), 1);
    assert.equal(comparePositions(at(5n, 2n), at(5n, 2n)), 0);
  });

  it('when positions are sorted with comparePositions, then START comes first', () => {
    const sorted = [at(9n, 1n), START, at(3n, 7n), at(3n, 2n)].sort(comparePositions);
    assert.deepEqual(sorted, [START, at(3n, 2n), at(3n, 7n), at(9n, 1n)]);
  });

  it('when a position is formatted and parsed, then it round-trips, also beyond 2^53', () => {
    const big = at(2n ** 63n - 1n, 2n ** 60n + 3n);
    assert.equal(formatPosition(at(12n, 345n)), '12-345');
    assert.deepEqual(parsePosition(formatPosition(big)), big);
    assert.deepEqual(parsePosition('0-0'), START);
  });

  it('when the text is not a position, then parsePosition throws a RangeError', () => {
    for (const text of [
      '',
      '12',
      '12-',
      '-3',
      '1-2-3',
      'a-1',
      '1.5-2',
      ' 1-2',
      '1-2 ',
      '123456789012345678901-1',
    ]) {
      assert.throws(() => parsePosition(text), RangeError, `"${text}"`);
    }
  });

  it('when START is used, then it cannot be mutated', () => {
    assert.ok(Object.isFrozen(START));
  });
});
