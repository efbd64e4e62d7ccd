/** Listen addresses: `HOST:PORT`, `[IPv6]:PORT`. */
import { isIP } from "node:net";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `127.0.0.1:5353`, `[::1]:5353` or `:5353` (all IPv4 interfaces). @throws Error with the reason. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new Error(`${JSON.stringify(text)} is not HOST:PORT (use [ADDR]:PORT for IPv6)`);
  const host = m[1] ?? (m[2] || "0.0.0.0");
  const port = Number(m[3]);
  if (port > 65_535) throw new Error(`port ${port} in ${JSON.stringify(text)} is over 65535`);
  if (isIP(host) === 0 && host !== "localhost")
    throw new Error(`${JSON.stringify(host)} is not an IP address`);
  return { host: host === "localhost" ? "127.0.0.1" : host, port };
}

export function formatListenAddress(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
