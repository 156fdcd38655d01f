/**
 * A small seeded pseudo-random generator (a Weyl sequence through a 32-bit avalanche mix), so
 * fault decisions reproduce from a seed. Not for anything that needs real randomness.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 16), 0x21f0aaad);
    mixed = Math.imul(mixed ^ (mixed >>> 15), 0x735a2d97);
    mixed ^= mixed >>> 15;
    return (mixed >>> 0) / 0x1_0000_0000;
  };
}

/** A seed for an independent stream derived from one seed, so knobs don't share draws. */
export function deriveSeed(seed: number, stream: number): number {
  return seededRandom((seed ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0)() * 0x1_0000_0000;
}
