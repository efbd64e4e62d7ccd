/**
 * Names derived from addresses: per-pod host labels and reverse-mapping owner names (RFC 1035 section 3.5,
 * RFC 3596 section 2.5).
 */
import { isIPv4 } from "node:net";
import { canonicalIpv6, ipv6Groups } from "../dns/address.js";
import type { Fqdn } from "../dns/name.js";

/**
 * A stable per-pod host label from an address: `10-244-1-5` for IPv4; for IPv6 the RFC 5952 form with `:` as `-`,
 * and a `0` added where it would start or end with a hyphen (`fd00::` becomes `fd00--0`), so that the label is a
 * valid RFC 1123 host name. The mapping is one-to-one because RFC 5952 never ends in `::0`.
 */
export function addressLabel(address: string): string {
  if (isIPv4(address)) return address.replaceAll(".", "-");
  let label = canonicalIpv6(address).replaceAll(":", "-");
  if (label.startsWith("-")) label = `0${label}`;
  if (label.endsWith("-")) label = `${label}0`;
  return label;
}

/** `d.c.b.a.in-addr.arpa.` for IPv4; 32 nibbles under `ip6.arpa.` for IPv6; one flat string (see `flatName`). */
export function reverseName(address: string): Fqdn {
  if (isIPv4(address)) return [...address.split(".").reverse(), "in-addr.arpa."].join(".") as Fqdn;
  const nibbles: string[] = [];
  for (const g of ipv6Groups(address)) {
    for (let shift = 12; shift >= 0; shift -= 4) nibbles.push(((g >> shift) & 0xf).toString(16));
  }
  nibbles.reverse().push("ip6.arpa.");
  return nibbles.join(".") as Fqdn;
}

/**
 * `name` as one flat string. A name built by concatenation is a V8 ConsString tree, which stays alive whole where
 * it is kept (measured in isolation: 100,000 pod names took 26 MiB of heap as built, 14 MiB flat); podns keeps one
 * per pod name and per reverse name. Array.prototype.join builds a flat string.
 */
export function flatName(name: Fqdn): Fqdn {
  const dot = name.indexOf(".");
  return [name.slice(0, dot), name.slice(dot + 1)].join(".") as Fqdn;
}
