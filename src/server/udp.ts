/** UDP listener: one datagram in, at most one datagram out (RFC 1035 section 4.2.1). */
import dgram from "node:dgram";
import dns from "node:dns";
import { isIP, isIPv6 } from "node:net";
import { decodeQuery } from "../dns/query.js";
import type { QueryHandler } from "./handler.js";
import type { ListenAddress } from "./listen.js";
import type { ExchangeObserver } from "./query-log.js";
import { RateLimiter, slip } from "./rate-limit.js";

/**
 * Socket buffers in bytes. Node's default receive buffer (about 208 KiB) overflows in bursts that NSD, with 2 MiB,
 * absorbs (bench: thousands of drops at half of peak); the kernel caps it at net.core.rmem_max.
 */
const SOCKET_BUFFER = 4 * 1024 * 1024;

export async function listenUdp(
  addr: ListenAddress,
  handler: QueryHandler,
  exchanges: ExchangeObserver,
  limiter: RateLimiter = new RateLimiter(0),
): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: isIPv6(addr.host) ? "udp6" : "udp4",
    ipv6Only: isIPv6(addr.host),
    recvBufferSize: SOCKET_BUFFER,
    sendBufferSize: SOCKET_BUFFER,
    lookup: literalLookup,
  });
  socket.on("message", (msg, rinfo) => {
    // Source port 0 cannot be answered (RFC 768): such a datagram is spoofed or broken.
    if (rinfo.port === 0) return;
    const started = performance.now();
    let out = handler.handle(msg, "udp", rinfo.address);
    if (out === null) return;
    if (limiter.enabled && limiter.limited(rinfo.address)) out = slip(out, hasEdns(msg));
    const seconds = (performance.now() - started) / 1000;
    try {
      // No callback: with one, Node allocates a send request and queues a callback per datagram even when the
      // kernel took it at once. Errors of a send that had to wait go to the socket's error handler (ignored).
      socket.send(out, rinfo.port, rinfo.address);
    } catch {
      // A send error (an unreachable client, a full buffer) concerns one datagram; DNS clients retry.
    }
    exchanges.answered(msg, out, "udp", rinfo.address, seconds);
  });
  socket.on("error", ignore);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(addr.port, addr.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return socket;
}

function ignore(): void {}

/**
 * Resolves the address of every send. Answers always go to an IP literal (the query's source), which dns.lookup
 * would hand back on the next tick: a queued callback per answer (about 3% of the CPU of a cached answer in a
 * profile at 75k queries/s). An IP literal is returned at once; anything else goes to dns.lookup.
 */
function literalLookup(
  address: string,
  family: dns.LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const v = isIP(address);
  if (v !== 0) callback(null, address, v);
  else dns.lookup(address, typeof family === "number" ? { family } : family, callback);
}

/** Whether the query carried an OPT record; decoded again, which only slips pay for. */
function hasEdns(query: Buffer): boolean {
  const d = decodeQuery(query);
  return d.kind === "query" ? d.query.edns !== null : d.kind === "error" && d.edns !== null;
}
