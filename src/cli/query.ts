/**
 * `podns query NAME [TYPE]`: asks a podns server like dig, and prints each endpoint with its weight, priority and
 * share of traffic. dns2 is the client here: one query per run, where its speed does not matter and an independent
 * codec is worth having.
 */
import { isIP, isIPv6 } from "node:net";
import DNS from "dns2";
import { StartupError } from "../config/errors.js";
import { reverseName } from "../discovery/names.js";
import { rcodeName, typeFromName, typeName } from "../dns/constants.js";
import { parseListenAddress } from "../server/listen.js";

export interface QueryOptions {
  readonly server: string;
  /** Seconds to wait for an answer. */
  readonly timeout: number;
}

type Resource = DNS.Packet.Resource & { target?: string; port?: number; weight?: number };

export async function query(first: string, second: string | undefined, opts: QueryOptions): Promise<number> {
  // dig takes `TYPE NAME` as well as `NAME TYPE`.
  const swap =
    second !== undefined && typeFromName(first) !== undefined && typeFromName(second) === undefined;
  const name = swap ? second : first;
  const type = swap ? first : second;
  const qtype = (type ?? (isIP(name) ? "PTR" : "A")).toUpperCase();
  if (typeFromName(qtype) === undefined) throw new StartupError(`unknown type ${JSON.stringify(type)}`);
  if (!(opts.timeout > 0)) throw new StartupError("--timeout: expected a number of seconds above 0");
  const qname = isIP(name) && qtype === "PTR" ? reverseName(name).slice(0, -1) : name;
  let server: { host: string; port: number };
  try {
    server = parseListenAddress(opts.server);
  } catch (err) {
    throw new StartupError(`--server: ${(err as Error).message}`);
  }
  const { host, port } = server;
  const timeout = opts.timeout * 1000;
  const socketType = isIPv6(host) ? "udp6" : "udp4";
  const udp = DNS.UDPClient({
    dns: host,
    port,
    timeout,
    retryOverTCP: false,
    socketType,
  } as DNS.UdpClientOptions);
  const lines: string[] = [];
  let response: DNS.Packet;
  try {
    response = await udp(qname, qtype as never, undefined, { recursive: false } as never);
    if (response.header.tc) {
      lines.push("warning: the UDP answer was truncated (TC); asked again over TCP");
      response = await DNS.TCPClient({ dns: host, port } as DNS.TcpClientOptions)(qname, qtype as never);
    }
  } catch (err) {
    throw new QueryError(`no answer from ${opts.server}: ${(err as Error).message}`);
  }
  const flags = response.header.aa ? "authoritative" : "not authoritative";
  const count = response.answers.length;
  lines.unshift(
    `${qname} ${qtype}: ${rcodeName(response.header.rcode)} (${flags}, ${count} answer${count === 1 ? "" : "s"})`,
  );
  lines.push(...describe(qtype, response.answers as Resource[], response.additionals as Resource[]));
  process.stdout.write(`${lines.join("\n")}\n`);
  return response.header.rcode === 0 ? 0 : 1;
}

/** The server could not be asked; exit status 1 with this one line. */
export class QueryError extends Error {
  override readonly name = "QueryError";
  readonly exitCode = 1;
}

function describe(qtype: string, answers: Resource[], additionals: Resource[]): string[] {
  if (qtype === "SRV")
    return describeSrv(
      answers.filter((r) => r.type === 33),
      additionals,
    );
  return answers.map((r) => `  ${r.name}. ${r.ttl} ${typeName(r.type)} ${rdata(r)}`);
}

/**
 * RFC 2782 selection: only the lowest priority is used while it has any target; within it, a target's share is its
 * weight over the sum of weights.
 */
function describeSrv(records: Resource[], additionals: Resource[]): string[] {
  if (records.length === 0) return [];
  const lowest = Math.min(...records.map((r) => r.priority ?? 0));
  const active = records.filter((r) => (r.priority ?? 0) === lowest);
  const total = active.reduce((sum, r) => sum + (r.weight ?? 0), 0);
  const rows = [["priority", "weight", "share", "port", "target", "addresses"]];
  for (const r of [...records].sort(
    (a, b) => (a.priority ?? 0) - (b.priority ?? 0) || (b.weight ?? 0) - (a.weight ?? 0),
  )) {
    const inUse = (r.priority ?? 0) === lowest;
    const share = !inUse
      ? "backup"
      : total === 0
        ? `${(100 / active.length).toFixed(1)}%`
        : `${((100 * (r.weight ?? 0)) / total).toFixed(1)}%`;
    const addresses = additionals.filter((a) => a.name === r.target && a.address).map((a) => a.address);
    rows.push([
      String(r.priority),
      String(r.weight),
      share,
      String(r.port),
      `${r.target}.`,
      addresses.join(","),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map(
    (row) =>
      `  ${row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()}`,
  );
}

function rdata(r: Resource): string {
  if (r.primary !== undefined) {
    return `${r.primary}. ${r.admin}. ${r.serial} ${r.refresh} ${r.retry} ${r.expiration} ${r.minimum}`;
  }
  const name = r.domain ?? r.ns;
  if (name !== undefined) return `${name}.`;
  return String(
    r.address ?? (Array.isArray(r.data) ? r.data.map((d) => JSON.stringify(d)).join(" ") : r.data) ?? "",
  );
}
