/** UDP listener: one datagram in, at most one datagram out (RFC 1035 section 4.2.1). */
import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import type { QueryHandler } from "./handler.js";
import type { ListenAddress } from "./listen.js";

export async function listenUdp(addr: ListenAddress, handler: QueryHandler): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: isIPv6(addr.host) ? "udp6" : "udp4",
    ipv6Only: isIPv6(addr.host),
  });
  socket.on("message", (msg, rinfo) => {
    // Source port 0 cannot be answered (RFC 768): such a datagram is spoofed or broken.
    if (rinfo.port === 0) return;
    const out = handler.handle(msg, "udp", rinfo.address);
    if (out === null) return;
    try {
      socket.send(out, rinfo.port, rinfo.address, ignore);
    } catch {
      // A send error (an unreachable client, a full buffer) concerns one datagram; DNS clients retry.
    }
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
