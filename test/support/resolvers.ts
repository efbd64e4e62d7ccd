/**
 * Caching resolvers that forward a zone to podns, configured as an operator would (README "Pointing a resolver at
 * podns"): unbound (Debian package `unbound`) with a stub zone and dnsmasq (`dnsmasq-base`) with `--server`. Both run
 * in the foreground on 127.0.0.1, with everything they write in a temporary folder and nothing read from /etc.
 */
import dgram from "node:dgram";
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { Daemon, poll } from "./daemon.js";
import { dig } from "./dig.js";

export interface StubResolver {
  readonly name: string;
  /** DNS port on 127.0.0.1, UDP and TCP. */
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

export interface ResolverOptions {
  /** A temporary folder of its own. */
  readonly dir: string;
  /** The zone forwarded to podns, e.g. `cluster.local`. */
  readonly zone: string;
  /** podns on 127.0.0.1:`podnsPort`. */
  readonly podnsPort: number;
  /** A name in the zone that resolves, to know when the resolver serves. */
  readonly probe: string;
}

/** The stub zone of README and FACTS.md, plus what running unprivileged in the foreground from a temp dir needs. */
export function unboundConfig(opts: ResolverOptions, port: number): string {
  return `server:
    interface: 127.0.0.1
    port: ${port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${opts.dir}"
    pidfile: "${path.join(opts.dir, "unbound.pid")}"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    module-config: "iterator"
    do-not-query-localhost: no
    domain-insecure: "${opts.zone}"

remote-control:
    control-enable: no

stub-zone:
    name: "${opts.zone}"
    stub-addr: 127.0.0.1@${opts.podnsPort}
`;
}

export async function startUnbound(opts: ResolverOptions): Promise<StubResolver> {
  return startResolver("unbound", opts, (port) => {
    const cfg = path.join(opts.dir, "unbound.conf");
    writeFileSync(cfg, unboundConfig(opts, port));
    return new Daemon("unbound", "/usr/sbin/unbound", ["-d", "-c", cfg]);
  });
}

export function dnsmasqArgs(opts: ResolverOptions, port: number): string[] {
  return [
    "-d",
    "-k",
    "--no-resolv",
    "--no-hosts",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    `--server=/${opts.zone}/127.0.0.1#${opts.podnsPort}`,
    "--conf-file=/dev/null",
    `--pid-file=${path.join(opts.dir, "dnsmasq.pid")}`,
    // Log to stderr only: -d alone also writes to the system log.
    "--log-facility=-",
  ];
}

export async function startDnsmasq(opts: ResolverOptions): Promise<StubResolver> {
  return startResolver(
    "dnsmasq",
    opts,
    (port) => new Daemon("dnsmasq", "/usr/sbin/dnsmasq", dnsmasqArgs(opts, port)),
  );
}

/** Starts on a free port (retrying when another process takes it first) and waits until `probe` resolves. */
async function startResolver(
  name: string,
  opts: ResolverOptions,
  spawnOn: (port: number) => Daemon,
): Promise<StubResolver> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeDnsPort();
    const daemon = spawnOn(port);
    try {
      await poll(
        `${name} answering ${opts.probe}`,
        async () => {
          daemon.assertRunning();
          return (await dig(port, opts.probe)).rcode === "NOERROR" ? true : undefined;
        },
        10_000,
        200,
      );
      return { name, port, output: () => daemon.output(), stop: () => daemon.stop() };
    } catch (err) {
      await daemon.stop();
      if (attempt >= 2 || !/address already in use/i.test(daemon.output())) {
        throw new Error(`${(err as Error).message}\n${name} printed:\n${daemon.output()}`);
      }
    }
  }
}

/** A port free on 127.0.0.1 for both TCP and UDP at the time of asking. */
export async function freeDnsPort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(0, "127.0.0.1", () => resolve((tcp.address() as net.AddressInfo).port));
    });
    const udp = dgram.createSocket("udp4");
    const free = await new Promise<boolean>((resolve) => {
      udp.once("error", () => resolve(false));
      udp.bind(port, "127.0.0.1", () => resolve(true));
    });
    await new Promise<void>((resolve) => {
      try {
        udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (free) return port;
  }
}
