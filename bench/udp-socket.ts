/**
 * A server's UDP socket as the kernel sees it: datagrams dropped because its receive queue was full
 * (/proc/net/udp), and the receive buffer size (`ss -m`, from iproute2, when it is installed). A server that
 * stalls (a garbage collection, another process on its CPU) loses queries once the buffer is full.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface UdpSocketStats {
  readonly drops: number;
  /** Bytes, as granted by the kernel; undefined without `ss`. */
  readonly receiveBuffer: number | undefined;
}

export function udpSocketStats(port: number): UdpSocketStats {
  return { drops: drops(port), receiveBuffer: receiveBuffer(port) };
}

function drops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let total = 0;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) total += Number(fields[fields.length - 1]);
  }
  return total;
}

function receiveBuffer(port: number): number | undefined {
  const out = spawnSync("ss", ["-u", "-a", "-n", "-m", `sport = :${port}`], {
    encoding: "utf8",
    timeout: 5_000,
  });
  if (out.status !== 0) return undefined;
  const m = /rb(\d+)/.exec(out.stdout);
  return m ? Number(m[1]) : undefined;
}
