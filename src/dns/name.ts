/**
 * Domain names. Every name podns stores is an `Fqdn`: lowercase ASCII, absolute, with a trailing dot ("." is the
 * root). This module is the one place where names are normalised (RFC 4343: comparisons ignore ASCII case).
 */

declare const fqdnBrand: unique symbol;
/** A lowercase, absolute domain name with a trailing dot, e.g. `web.default.svc.cluster.local.`. */
export type Fqdn = string & { readonly [fqdnBrand]: true };

export class NameError extends Error {
  override readonly name = "NameError";
}

/** RFC 1035 section 2.3.4: 63 octets per label, 255 octets per name in wire form. */
export const MAX_LABEL_LENGTH = 63;
export const MAX_NAME_LENGTH = 255;

export const ROOT = "." as Fqdn;

/**
 * Normalises a presentation-form name to an `Fqdn`. A relative name is made absolute under `origin` (RFC 1035 section
 * 5.1); `@` is the origin itself.
 * @throws NameError for an empty label, a label over 63 octets or a name over 255 octets in wire form.
 */
export function fqdn(name: string, origin: Fqdn = ROOT): Fqdn {
  let n = name.trim();
  if (n === "@") return origin;
  if (n === "" || n === ".") return n === "." ? ROOT : origin;
  if (!n.endsWith(".")) n = origin === ROOT ? `${n}.` : `${n}.${origin}`;
  n = n.toLowerCase();
  validate(n);
  return n as Fqdn;
}

function validate(n: string): void {
  if (n === ".") return;
  let wire = 1;
  const labels = n.slice(0, -1).split(".");
  for (const label of labels) {
    if (label.length === 0) throw new NameError(`empty label in ${JSON.stringify(n)}`);
    if (label.length > MAX_LABEL_LENGTH) throw new NameError(`label over 63 octets in ${JSON.stringify(n)}`);
    wire += label.length + 1;
  }
  if (wire > MAX_NAME_LENGTH) throw new NameError(`name over 255 octets: ${JSON.stringify(n)}`);
}

/** Joins labels (lowercased here) in front of a parent name: `child(["_http", "_tcp"], svc)`. */
export function child(labels: readonly string[], parent: Fqdn): Fqdn {
  const prefix = labels.join(".").toLowerCase();
  const n = parent === ROOT ? `${prefix}.` : `${prefix}.${parent}`;
  validate(n);
  return n as Fqdn;
}

/** The name with its first label removed; the root's parent is undefined. */
export function parent(name: Fqdn): Fqdn | undefined {
  if (name === ROOT) return undefined;
  const dot = name.indexOf(".");
  const rest = name.slice(dot + 1);
  return (rest === "" ? ROOT : rest) as Fqdn;
}

/** True when `name` equals `zone` or lies below it. */
export function isSubdomain(name: Fqdn, zone: Fqdn): boolean {
  if (zone === ROOT) return true;
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * RFC 1123 section 2.1 host label: letters, digits and hyphens, not starting or ending with a hyphen, 1 to 63 octets.
 */
export function isHostLabel(label: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label);
}

/** True for `in-addr.arpa.`, `ip6.arpa.` and the zones below them (RFC 1035 section 3.5, RFC 3596 section 2.5). */
export function isReverseZone(zone: Fqdn): boolean {
  return zone === "in-addr.arpa." || zone === "ip6.arpa." || /\.(in-addr|ip6)\.arpa\.$/.test(zone);
}
