import type { GlobalPosition } from '@platform/event-store';

/**
 * A global position as a string whose lexicographic order is the positions' order (both parts
 * zero-padded to 20 digits, the width of an unsigned 64-bit integer). MongoDB compares it with
 * `$lt` / `$gte` without needing 64-bit integer support from the server.
 */
export function positionKey(position: GlobalPosition): string {
  return `${position.commit.toString().padStart(20, '0')}-${position.position.toString().padStart(20, '0')}`;
}

export function positionFromKey(key: string): GlobalPosition {
  const match = /^(\d{20})-(\d{20})$/.exec(key);
  if (!match?.[1] || !match[2]) throw new RangeError(`not a position key: "${key}"`);
  return { commit: BigInt(match[1]), position: BigInt(match[2]) };
}
