/**
 * Weighted random order of records (A/AAAA answers carry no weight, so podns conveys it by order): the probability
 * that a record comes first is proportional to its weight, and so on for each later position (successive sampling
 * without replacement). Implemented with Efraimidis-Spirakis keys, `-ln(u) / w` sorted ascending, which draws
 * exactly that distribution in O(n log n). Records of weight 0 go last, in random order.
 */

/** Above every key of a positive weight (those are at most about 745 / w), and still finite to keep ties random. */
const ZERO_WEIGHT_KEY = 1e300;
const INSERTION_SORT_MAX = 32;

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * A small seedable generator (SplitMix32-style mixing on a 32-bit counter) for tests and benchmarks that need the
 * same sequence every run; production uses Math.random.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4_294_967_296;
  };
}

/**
 * Fills `order` with the indices 0..n-1 in weighted random order and returns it; indices below `preferred` all come
 * before the others, each group in its own weighted order. `keys` is scratch space of at least `weights.length`
 * entries, so that the query path allocates nothing.
 */
export function weightedOrder(
  weights: readonly number[],
  random: Random,
  order: number[],
  keys: Float64Array,
  preferred = 0,
): number[] {
  const n = weights.length;
  order.length = n;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    // 1 - random() is in (0, 1], so the logarithm is finite; weight 0 sorts after every positive weight.
    keys[i] = w > 0 ? -Math.log(1 - random()) / w : ZERO_WEIGHT_KEY * (1 + random());
    order[i] = i;
  }
  sortRange(order, keys, 0, Math.min(preferred, n));
  sortRange(order, keys, Math.min(preferred, n), n);
  return order;
}

/** Sorts `order[from, to)` by ascending key. */
function sortRange(order: number[], keys: Float64Array, from: number, to: number): void {
  if (to - from > INSERTION_SORT_MAX) {
    const part = order.slice(from, to).sort((a, b) => keys[a]! - keys[b]!);
    for (let i = from; i < to; i++) order[i] = part[i - from]!;
    return;
  }
  // Insertion sort: most answers are short, and it needs no comparator closure.
  for (let i = from + 1; i < to; i++) {
    const idx = order[i]!;
    const key = keys[idx]!;
    let j = i - 1;
    while (j >= from && keys[order[j]!]! > key) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = idx;
  }
}
