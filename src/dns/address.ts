/** IP address text: parsing IPv6 groups and the RFC 5952 canonical form. */
import { isIPv4, isIPv6 } from "node:net";

/** Eight 16-bit groups of an IPv6 address. @throws Error when `address` is not IPv6. */
export function ipv6Groups(address: string): number[] {
  if (!isIPv6(address)) throw new Error(`not an IPv6 address: ${address}`);
  let text = address;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(lastColon + 1)
      .split(".")
      .map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const parts = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return parts.map((g) => Number.parseInt(g, 16));
}

/** RFC 5952 section 4: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function canonicalIpv6(address: string): string {
  const groups = ipv6Groups(address);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** Canonical text of an IPv4 or IPv6 address, or undefined when `text` is neither. */
export function canonicalAddress(text: string): string | undefined {
  if (isIPv4(text)) return text;
  if (isIPv6(text)) return canonicalIpv6(text);
  return undefined;
}
