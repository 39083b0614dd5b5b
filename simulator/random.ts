/**
 * Seeded randomness for the simulator: the same seed gives the same run, bit for bit.
 * mulberry32 is tiny, fast and good enough for noise and weather; it is not for crypto.
 */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box–Muller), from a uniform source. */
export function gaussian(random: Random): number {
  let u = random();
  while (u <= Number.MIN_VALUE) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Uniform in [-limit, +limit]. */
export function uniformSymmetric(random: Random, limit: number): number {
  return (random() * 2 - 1) * limit;
}

/**
 * An independent seed for one component of a run, from the run's seed and a label.
 * Each noise source draws from its own stream, so adding draws to one (say, a new
 * cloud feature) does not shift every other component's sequence.
 */
export function deriveSeed(seed: number, label: string): number {
  // FNV-1a over the label, folded with the seed, then one mulberry32 round to spread it.
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return Math.floor(seededRandom(h >>> 0)() * 4294967296) >>> 0;
}
