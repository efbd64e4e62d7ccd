/** UDP listener: one datagram in, at most one datagram out (RFC 1035 section 4.2.1). */
import dgram from "node:dgram";
import { isIPv6 } from "node:net";
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
      socket.send(out, rinfo.port, rinfo.address, ignore);
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

/** Whether the query carried an OPT record; decoded again, which only slips pay for. */
function hasEdns(query: Buffer): boolean {
  const d = decodeQuery(query);
  return d.kind === "query" ? d.query.edns !== null : d.kind === "error" && d.edns !== null;
}
