import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionLag } from './consumer-lag';

describe('partitionLag', () => {
  it('when the group committed an offset, then the lag is what lies between it and the high watermark', () => {
    assert.equal(partitionLag(7, 0, 10), 3);
    assert.equal(partitionLag(10, 0, 10), 0);
  });

  it('when the group committed nothing (-1), then everything retained counts (a from-beginning consumer reads it all)', () => {
    assert.equal(partitionLag(-1, 4, 10), 6);
    assert.equal(partitionLag(undefined, 0, 0), 0);
  });

  it('when the committed offset was deleted by retention, then the lag counts from the low watermark', () => {
    assert.equal(partitionLag(2, 5, 10), 5);
  });

  it('when offsets are inconsistent for a moment (committed past a stale high watermark), then the lag is 0, never negative', () => {
    assert.equal(partitionLag(12, 0, 10), 0);
  });
});
