/**
 * SRV weights (RFC 2782). podns scales the endpoints' weights of one RRset so that the largest is 65535 and no
 * positive weight becomes 0. Two kinds of client read them:
 * - RFC 2782 clients (Go's net.LookupSRV, Node's resolveSrv, Envoy) use the 16-bit value as is;
 * - HAProxy 2.6 uses ceil(weight / 256), so it sees 1..256.
 * Scaling to the top of the range keeps the most precision in both: a 90/10 split over 200 pods each encodes as
 * 65535 and 7282 (HAProxy: 256 and 29), where scaling to a share of 65535 would leave HAProxy 2 and 1.
 */

/** Weight of an endpoint whose pod has no valid `podns.io/weight` annotation. */
export const DEFAULT_WEIGHT = 100;
export const MAX_SRV_WEIGHT = 65_535;

/** Scales relative weights (any non-negative numbers) to SRV weights; all-zero input stays all zero. */
export function encodeSrvWeights(weights: readonly number[]): number[] {
  const max = Math.max(0, ...weights);
  if (max === 0) return weights.map(() => 0);
  return weights.map((w) => (w <= 0 ? 0 : Math.max(1, Math.round((w / max) * MAX_SRV_WEIGHT))));
}

/**
 * Parses the `podns.io/weight` annotation: a decimal integer 0..65535. Returns undefined (and the caller warns
 * once) for anything else.
 */
export function parseWeightAnnotation(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= MAX_SRV_WEIGHT ? n : undefined;
}
