/**
 * TCP listener (RFC 7766): two-byte length framing, several queries per connection answered as they come, an idle
 * timeout, a bound on how long one message may take to arrive, and a cap on concurrent connections.
 */
import net from "node:net";
import type { QueryHandler } from "./handler.js";
import type { ListenAddress } from "./listen.js";
import type { ExchangeObserver } from "./query-log.js";

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
  exchanges: ExchangeObserver,
  limits: TcpLimits,
): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, handler, exchanges, limits);
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

/**
 * One connection: messages are answered in arrival order as they complete. A message must arrive whole within
 * `messageTimeout` of its first byte (the clock does not restart on each byte, so a trickling client cannot hold the
 * connection). While the client does not read its answers, nothing more is read or answered (RFC 7766 6.2.2).
 */
function serveConnection(
  socket: net.Socket,
  handler: QueryHandler,
  exchanges: ExchangeObserver,
  limits: TcpLimits,
): void {
  let pending: Buffer = Buffer.alloc(0);
  let messageTimer: NodeJS.Timeout | undefined;
  let blocked = false;
  const client = socket.remoteAddress ?? "";
  const drain = () => {
    while (!blocked && pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < len + 2) break;
      const msg = pending.subarray(2, len + 2);
      pending = pending.subarray(len + 2);
      clearTimeout(messageTimer);
      messageTimer = undefined;
      const started = performance.now();
      const out = handler.handle(msg, "tcp", client);
      if (out === null) continue;
      const seconds = (performance.now() - started) / 1000;
      const written = writeFramed(socket, out);
      exchanges.answered(msg, out, "tcp", client, seconds);
      if (!written) {
        blocked = true;
        socket.pause();
        socket.once("drain", () => {
          blocked = false;
          socket.resume();
          drain();
        });
      }
    }
    if (pending.length > 0 && messageTimer === undefined) {
      messageTimer = setTimeout(() => socket.destroy(), limits.messageTimeout * 1000);
    }
  };
  socket.setTimeout(limits.idleTimeout * 1000, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  socket.on("close", () => clearTimeout(messageTimer));
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    drain();
  });
}

/** Writes one length-prefixed message; false when the socket's buffer is full. */
function writeFramed(socket: net.Socket, msg: Buffer): boolean {
  const framed = Buffer.allocUnsafe(msg.length + 2);
  framed.writeUInt16BE(msg.length, 0);
  msg.copy(framed, 2);
  return socket.write(framed);
}
