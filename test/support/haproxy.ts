/**
 * HAProxy (Debian package `haproxy`, 2.6) as a DNS-driven load balancer: a `server-template` filled from an SRV
 * record through a `resolvers` section, run in the foreground, and read through its admin socket.
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { Daemon, poll } from "./daemon.js";
import { freePort } from "./podns.js";

export interface HaproxyOptions {
  /** A temporary folder for the configuration and the admin socket. */
  readonly dir: string;
  /** The DNS server HAProxy resolves through: 127.0.0.1:`dnsPort`. */
  readonly dnsPort: number;
  readonly backend: string;
  /** SRV owner name the servers are discovered from. */
  readonly srvName: string;
  /** Server slots of the template. */
  readonly slots: number;
}

/** What an operator writes: re-resolve every second, accept EDNS answers up to 1232 bytes. */
export function haproxyConfig(opts: HaproxyOptions, frontendPort: number, socket: string): string {
  return `global
    stats socket ${socket} level admin
    stats timeout 10s

defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s

resolvers podns
    nameserver p 127.0.0.1:${opts.dnsPort}
    accepted_payload_size 1232
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 1s

frontend fe
    bind 127.0.0.1:${frontendPort}
    default_backend ${opts.backend}

backend ${opts.backend}
    balance roundrobin
    server-template srv ${opts.slots} ${opts.srvName} resolvers podns init-addr none
`;
}

export interface ServerState {
  readonly name: string;
  /** `srv_addr`: `-` or 0.0.0.0 while the slot is unresolved. */
  readonly address: string;
  readonly port: number;
  /** `srv_uweight`: the weight HAProxy balances with. */
  readonly weight: number;
  /** `srv_op_state`: 2 is running. */
  readonly opState: number;
  /**
   * `srv_admin_state` bits: 0x20 (RMAINT) while the slot has no resolved address, 0x01/0x02 forced or inherited
   * maintenance, 0x40 (HMAINT) only records that the FQDN came from an SRV record.
   */
  readonly adminState: number;
  /** `srv_fqdn`: the SRV target the slot was filled from. */
  readonly fqdn: string;
}

/** Admin states that keep a server from taking traffic: forced, inherited or resolution maintenance (0x23). */
export const SRV_ADMF_MAINT = 0x23;

export class Haproxy {
  private constructor(
    private readonly daemon: Daemon,
    readonly opts: HaproxyOptions,
    /** The HTTP frontend listens on 127.0.0.1:`frontendPort`. */
    readonly frontendPort: number,
    readonly socket: string,
  ) {}

  /**
   * Starts `haproxy -db -f <cfg>` with its frontend on a free port (another, should a racing process take it first)
   * and waits until its admin socket answers.
   */
  static async start(opts: HaproxyOptions, startMs = 10_000): Promise<Haproxy> {
    const socket = path.join(opts.dir, "admin.sock");
    const cfg = path.join(opts.dir, "haproxy.cfg");
    for (let attempt = 0; ; attempt++) {
      const frontendPort = await freePort();
      writeFileSync(cfg, haproxyConfig(opts, frontendPort, socket));
      const daemon = new Daemon("haproxy", "/usr/sbin/haproxy", ["-db", "-f", cfg]);
      try {
        await poll(
          "haproxy's admin socket",
          async () => {
            daemon.assertRunning();
            return (await adminCommand(socket, "show info")).includes("Pid:") ? true : undefined;
          },
          startMs,
        );
        return new Haproxy(daemon, opts, frontendPort, socket);
      } catch (err) {
        await daemon.stop();
        if (attempt >= 2 || !/cannot bind socket/i.test(daemon.output())) {
          throw new Error(`${(err as Error).message}\nhaproxy printed:\n${daemon.output()}`);
        }
      }
    }
  }

  /** `show servers state <backend>`, parsed by its header line. */
  async serversState(): Promise<ServerState[]> {
    this.daemon.assertRunning();
    const text = await adminCommand(this.socket, `show servers state ${this.opts.backend}`);
    return parseServersState(text);
  }

  output(): string {
    return this.daemon.output();
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

/** One command on the admin socket (non-interactive mode: HAProxy answers and closes). */
export function adminCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket);
    let text = "";
    conn.setEncoding("utf8");
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error(`${command}: no answer within ${timeoutMs} ms`)));
    conn.on("connect", () => conn.end(`${command}\n`));
    conn.on("data", (chunk: string) => {
      text += chunk;
    });
    conn.on("end", () => resolve(text));
    conn.on("error", reject);
  });
}

/**
 * The format: a version line (`1`), a header `# be_id be_name srv_id srv_name srv_addr ...` and one line per server
 * with space-separated fields in the header's order.
 */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.find((l) => l.startsWith("# "));
  if (header === undefined) throw new Error(`show servers state printed no header:\n${text}`);
  const columns = header.slice(2).trim().split(/\s+/);
  return lines
    .filter((l) => !l.startsWith("#") && l.trim() !== "1")
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      const field = (name: string): string => {
        const i = columns.indexOf(name);
        if (i < 0 || fields[i] === undefined) throw new Error(`no ${name} in ${JSON.stringify(line)}`);
        return fields[i]!;
      };
      return {
        name: field("srv_name"),
        address: field("srv_addr"),
        port: Number(field("srv_port")),
        weight: Number(field("srv_uweight")),
        opState: Number(field("srv_op_state")),
        adminState: Number(field("srv_admin_state")),
        fqdn: field("srv_fqdn"),
      };
    });
}
