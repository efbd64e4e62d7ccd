/**
 * Starts podns in-process for tests: DNS on an ephemeral 127.0.0.1 port (UDP and TCP share it), HTTP on another,
 * logs silenced unless PODNS_TEST_LOG is set.
 */
import net from "node:net";
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { type ServeConfig, toServeConfig } from "../../src/config/serve-config.js";
import type { Random } from "../../src/dns/shuffle.js";
import { Podns } from "../../src/server/podns.js";

export interface TestServer {
  readonly podns: Podns;
  readonly host: string;
  /** DNS port, UDP and TCP. */
  readonly port: number;
  readonly httpPort: number;
  stop(): Promise<void>;
}

/** A port free on both UDP and TCP at 127.0.0.1 (TCP bound first, then UDP checked by podns's own bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartOptions extends Partial<Omit<ServeConfig, "listen" | "httpListen">> {
  readonly backoff?: { initial: number; max: number };
  /** Seconds a Kubernetes list or watch may stay silent before podns restarts it (default 90). */
  readonly silenceTimeout?: number;
  /** Source of randomness for the order of A/AAAA answers, e.g. `seededRandom(1)`; default Math.random. */
  readonly random?: Random;
  /** Where podns logs; default silent unless PODNS_TEST_LOG names a level. */
  readonly log?: Logger;
}

export async function startPodns(options: StartOptions = {}): Promise<TestServer> {
  const log = options.log ?? pino({ level: process.env["PODNS_TEST_LOG"] ?? "silent" });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const httpPort = await freePort();
    const base = toServeConfig(
      {
        httpListen: `127.0.0.1:${httpPort}`,
        listen: [`127.0.0.1:${port}`],
        ttl: 5,
        clusterIp: "endpoints",
        logLevel: "silent",
        logFormat: "json",
        tcpIdleTimeout: 10,
        tcpMaxConnections: 100,
        source: options.sources ? [...options.sources] : undefined,
      },
      false,
    );
    const { backoff, random, silenceTimeout, log: _log, ...overrides } = options;
    const config: ServeConfig = { ...base, ...overrides, listen: base.listen, httpListen: base.httpListen };
    const podns = new Podns(config, log, { backoff, random, silenceTimeout });
    try {
      await podns.start();
    } catch (err) {
      await podns.stop();
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE" && attempt < 5) continue;
      throw err;
    }
    return { podns, host: "127.0.0.1", port, httpPort, stop: () => podns.stop() };
  }
}

/** Every sample of podns's `/metrics` (Prometheus text), by series (`name{labels}` as printed). */
export async function scrape(server: TestServer): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** The sum of every series of `name` whose labels include all of `labels`. */
export function total(
  series: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const [key, value] of series) {
    const brace = key.indexOf("{");
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

/** A pino logger at info level whose lines are kept, parsed, for assertions. */
export function capturedLog() {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}
