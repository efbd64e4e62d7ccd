/**
 * Response rate limiting for UDP, per client network (/24 for IPv4, /56 for IPv6). Past the limit a client gets a
 * "slip" instead of its answer: the header and question with TC set and no records, which costs no more than the
 * query did, so a spoofed source gains no amplification, while a real client retries over TCP and is answered.
 * Counting uses fixed one-second windows: per query, a short key and one Map update.
 */
import { isIPv4 } from "node:net";
import { ipv6Groups } from "../dns/address.js";
import { Flag } from "../dns/constants.js";

/** Networks tracked per window before the oldest are forgotten, so the table cannot grow without bound. */
const MAX_NETWORKS = 100_000;

export class RateLimiter {
  private counts = new Map<string, number>();
  private window = 0;

  /** `perSecond` responses per client network per second; 0 turns limiting off. `onLimited` is told of each slip. */
  constructor(
    private readonly perSecond: number,
    private readonly onLimited: () => void = () => {},
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** True when this client network is over its limit for the current second. */
  limited(address: string, now = Date.now()): boolean {
    const window = Math.floor(now / 1000);
    if (window !== this.window || this.counts.size >= MAX_NETWORKS) {
      this.window = window;
      this.counts = new Map();
    }
    const key = networkOf(address);
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= this.perSecond) return false;
    this.onLimited();
    return true;
  }
}

/** The client's /24 (IPv4) or /56 (IPv6) as a key. */
export function networkOf(address: string): string {
  if (isIPv4(address)) return address.slice(0, address.lastIndexOf("."));
  // The first 56 bits: three whole groups and the high byte of the fourth.
  const hex = ipv6Groups(address).map((g) => g.toString(16).padStart(4, "0"));
  return `${hex.slice(0, 3).join(":")}:${hex[3]!.slice(0, 2)}`;
}

/**
 * A slip made from a response: its header with TC set and no records, its question (RFC 1035 section 4.1.1; a
 * client treats TC as "ask again over TCP"), and a bare OPT when the query had EDNS (RFC 6891 section 6.1.1).
 */
export function slip(response: Buffer, edns: boolean): Buffer {
  let pos = 12;
  if (response.readUInt16BE(4) === 1) {
    while (pos < response.length && response[pos] !== 0) pos += response[pos]! + 1;
    pos += 5;
  }
  const end = Math.min(pos, response.length);
  const out = Buffer.alloc(end + (edns ? OPT.length : 0));
  response.copy(out, 0, 0, end);
  if (edns) OPT.copy(out, end);
  out.writeUInt16BE(out.readUInt16BE(2) | Flag.TC, 2);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(edns ? 1 : 0, 10);
  return out;
}

/** OPT: root owner, type 41, our payload size 1232, no extended rcode, version 0, no options. */
const OPT = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
