import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { positionFromKey, positionKey } from './position-key';

describe('positionKey', () => {
  it('when positions are encoded, then string order equals position order', () => {
    const positions = [
      { commit: 9n, position: 100n },
      { commit: 10n, position: 2n },
      { commit: 10n, position: 11n },
      { commit: 18446744073709551615n, position: 1n },
    ];
    const keys = positions.map(positionKey);
    assert.deepEqual([...keys].sort(), keys);
  });

  it('when a key is decoded, then it gives the position back', () => {
    const position = { commit: 123n, position: 456n };
    assert.deepEqual(positionFromKey(positionKey(position)), position);
    assert.throws(() => positionFromKey('12-3'), RangeError);
  });
});
