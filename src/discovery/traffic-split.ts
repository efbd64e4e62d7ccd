/**
 * Traffic splits across versions (canary, blue/green): the Service annotation
 * `podns.io/traffic-split: "<pod-label-key>: <value>=<percent>, <value>=<percent>"`, e.g. `version: stable=90, canary=10`.
 * Each group of endpoints gets its percent of the total weight whatever its number of pods; within a group the
 * per-pod weights divide the group's share.
 */

export const TRAFFIC_SPLIT_ANNOTATION = "podns.io/traffic-split";

export interface TrafficSplit {
  /** The pod label whose value picks the group. */
  readonly labelKey: string;
  /** Label value to percent (0..100); the percents need not add up to 100, they are normalised. */
  readonly groups: ReadonlyMap<string, number>;
}

/** Kubernetes label keys: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * Parses the annotation. Returns a string describing the problem when it does not parse (the caller warns once and
 * applies equal weights).
 */
export function parseTrafficSplit(text: string): TrafficSplit | string {
  const colon = text.indexOf(":");
  if (colon < 0) return `expected "<label-key>: <value>=<percent>, ...", got ${JSON.stringify(text)}`;
  const labelKey = text.slice(0, colon).trim();
  if (!LABEL_KEY.test(labelKey)) return `${JSON.stringify(labelKey)} is not a label key`;
  const groups = new Map<string, number>();
  for (const part of text.slice(colon + 1).split(",")) {
    const m = /^\s*([^=\s]*)\s*=\s*(\d{1,3})\s*$/.exec(part);
    if (!m) return `${JSON.stringify(part.trim())} is not <value>=<percent>`;
    const [, value = "", percent = ""] = m;
    const n = Number(percent);
    if (!LABEL_VALUE.test(value)) return `${JSON.stringify(value)} is not a label value`;
    if (n > 100) return `${n} is over 100 percent`;
    if (groups.has(value)) return `${JSON.stringify(value)} is listed twice`;
    groups.set(value, n);
  }
  if (groups.size === 0) return "no groups";
  let total = 0;
  for (const n of groups.values()) total += n;
  if (total === 0) return "every group is at 0 percent";
  return { labelKey, groups };
}

/**
 * Effective weights under a split, for endpoints with base weights and label values (undefined: no such label).
 * Groups at 0 percent and endpoints in no listed group are left out (weight undefined) while any group with a
 * positive percent has endpoints; otherwise the split cannot apply and the base weights are returned unchanged.
 * Within a group, shares follow the base weights; a group whose base weights are all 0 shares equally.
 */
export function applyTrafficSplit(
  split: TrafficSplit,
  endpoints: readonly { readonly weight: number; readonly labelValue: string | undefined }[],
): (number | undefined)[] {
  const members = new Map<string, number[]>();
  endpoints.forEach((ep, i) => {
    if (ep.labelValue === undefined || !(split.groups.get(ep.labelValue) ?? 0)) return;
    const list = members.get(ep.labelValue);
    if (list === undefined) members.set(ep.labelValue, [i]);
    else list.push(i);
  });
  if (members.size === 0) return endpoints.map((ep) => ep.weight);
  let percentTotal = 0;
  for (const value of members.keys()) percentTotal += split.groups.get(value)!;
  const out: (number | undefined)[] = endpoints.map(() => undefined);
  for (const [value, indices] of members) {
    const share = split.groups.get(value)! / percentTotal;
    const baseTotal = indices.reduce((sum, i) => sum + endpoints[i]!.weight, 0);
    for (const i of indices) {
      out[i] = baseTotal > 0 ? (share * endpoints[i]!.weight) / baseTotal : share / indices.length;
    }
  }
  return out;
}
