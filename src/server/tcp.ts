/**
 * TCP listener (RFC 7766): two-byte length framing, several queries per connection answered as they come, an idle
 * timeout, a bound on how long one message may take to arrive, and a cap on concurrent connections.
 */
import net from "node:net";
import type { QueryHandler } from "./handler.js";
import type { ListenAddress } from "./listen.js";

export interface TcpLimits {
  /** Seconds a connection may stay open with nothing to read (RFC 7766 section 6.2.3). */
  readonly idleTimeout: number;
  /** Seconds one message may take to arrive once its first byte has. */
  readonly messageTimeout: number;
  readonly maxConnections: number;
}

export interface TcpListener {
  readonly server: net.Server;
  /** Stops accepting, and ends every connection once what it was sent has been answered. */
  close(): Promise<void>;
}

export async function listenTcp(
  addr: ListenAddress,
  handler: QueryHandler,
  limits: TcpLimits,
): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, handler, limits);
  });
  server.maxConnections = limits.maxConnections;
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: addr.port, host: addr.host, ipv6Only: addr.host.includes(":") }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Answers are written synchronously as queries arrive, so ending now loses nothing already asked.
      for (const socket of sockets) socket.end();
    });
  return { server, close };
}

function serveConnection(socket: net.Socket, handler: QueryHandler, limits: TcpLimits): void {
  let pending: Buffer = Buffer.alloc(0);
  let messageTimer: NodeJS.Timeout | undefined;
  socket.setTimeout(limits.idleTimeout * 1000, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("close", () => clearTimeout(messageTimer));
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < len + 2) break;
      const msg = pending.subarray(2, len + 2);
      pending = pending.subarray(len + 2);
      const out = handler.handle(msg, "tcp", socket.remoteAddress);
      // A client that pipelines without reading its answers is not read from until it catches up (RFC 7766 6.2.2).
      if (out !== null && !writeFramed(socket, out) && !socket.isPaused()) {
        socket.pause();
        socket.once("drain", () => socket.resume());
      }
    }
    clearTimeout(messageTimer);
    messageTimer =
      pending.length > 0 ? setTimeout(() => socket.destroy(), limits.messageTimeout * 1000) : undefined;
  });
}

/** Writes one length-prefixed message; false when the socket's buffer is full. */
function writeFramed(socket: net.Socket, msg: Buffer): boolean {
  const framed = Buffer.allocUnsafe(msg.length + 2);
  framed.writeUInt16BE(msg.length, 0);
  msg.copy(framed, 2);
  return socket.write(framed);
}
