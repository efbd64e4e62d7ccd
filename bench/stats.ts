/** Order statistics for latency samples. */

/** The nearest-rank percentile (0 < p <= 100) of ascending samples; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function ascending(samples: readonly number[]): Float64Array {
  return Float64Array.from(samples).sort();
}
