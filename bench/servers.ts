/**
 * The servers under test, each a child process pinned to CPU 0 and listening on 127.0.0.1 only: podns (watching the
 * fake API server through a kubeconfig), NSD (serving what `podns export-zone` wrote), and the bare Node.js
 * responder. Each start waits until the server answers, bounded in time.
 */

import dgram from "node:dgram";
import { readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DnsProbe, QTYPE } from "./dns-probe.js";
import { PODNS_BIN, PODNS_ENV, PODNS_NODE_FLAGS, SERVER_CPU, type Tool } from "./environment.js";
import { type Child, run, start } from "./processes.js";

export interface Server {
  readonly name: string;
  readonly port: number;
  readonly child: Child;
}

export interface PodnsServer extends Server {
  readonly httpPort: number;
  /** Seconds from spawning the process to its first answer from the synced data. */
  readonly startSeconds: number;
}

const BARE_RESPONDER = fileURLToPath(new URL("./bare-responder.js", import.meta.url));
const HEAP_PROBE = new URL("./heap-probe.js", import.meta.url).href;

/**
 * podns serve --kubeconfig, until `probeName` answers NOERROR. With a `heapFile`, podns runs with --expose-gc and
 * the bench's heap probe preloaded (heap-probe.ts), which does nothing until it gets SIGUSR2; with `heapSnapshot`
 * too, the probe then also writes a V8 heap snapshot to that file. `nodeFlags` (by default those of the image,
 * PODNS_NODE_FLAGS) go to node before podns's own.
 */
export async function startPodns(
  tools: Record<Tool, string>,
  kubeconfig: string,
  probeName: string,
  opts: { heapFile?: string; heapSnapshot?: string; nodeFlags?: readonly string[]; timeoutSeconds: number },
): Promise<PodnsServer> {
  const port = await freePort();
  const httpPort = await freePort();
  const probe = opts.heapFile ? ["--expose-gc", "--import", HEAP_PROBE] : [];
  const node = [...probe, ...(opts.nodeFlags ?? PODNS_NODE_FLAGS)];
  const args = [
    ...["-c", String(SERVER_CPU), process.execPath, ...node, PODNS_BIN, "serve"],
    ...[
      "--kubeconfig",
      kubeconfig,
      "--listen",
      `127.0.0.1:${port}`,
      "--http-listen",
      `127.0.0.1:${httpPort}`,
    ],
    ...["--log-level", "warn"],
  ];
  const began = performance.now();
  const env = {
    ...PODNS_ENV,
    ...(opts.heapFile ? { BENCH_HEAP_FILE: opts.heapFile } : {}),
    ...(opts.heapSnapshot ? { BENCH_HEAP_SNAPSHOT: opts.heapSnapshot } : {}),
  };
  const child = start("podns", tools.taskset, args, { env });
  await waitUntil(child, opts.timeoutSeconds, "podns to answer from the synced cluster", async () => {
    const reply = await queryOnce(port, probeName, QTYPE.A);
    // A Service with many endpoints answers with TC and no records over UDP; that still shows the synced data.
    return reply?.rcode === 0 && (reply.answers.length > 0 || reply.truncated);
  });
  return { name: "podns", port, httpPort, child, startSeconds: (performance.now() - began) / 1000 };
}

/** `podns export-zone`: the served zones as master files in `dir`; returns their file names. */
export async function exportZones(kubeconfig: string, dir: string): Promise<string[]> {
  await run(
    "podns export-zone",
    process.execPath,
    [PODNS_BIN, "export-zone", "--kubeconfig", kubeconfig, "-o", dir],
    600,
  );
  return readdirSync(dir).filter((f) => f.endsWith(".zone"));
}

/**
 * NSD in the foreground with one server process, serving the exported zones. Response rate limiting is off:
 * Debian's default limits answers to about 200/s per /24 (FACTS.md).
 */
export async function startNsd(
  tools: Record<Tool, string>,
  dir: string,
  zoneFiles: readonly string[],
  probeName: string,
): Promise<Server> {
  const port = await freePort();
  const conf = path.join(dir, "nsd.conf");
  const zones = zoneFiles.map((f) => `zone:\n  name: "${f.slice(0, -".zone".length)}"\n  zonefile: "${f}"\n`);
  writeFileSync(
    conf,
    [
      "server:",
      `  ip-address: 127.0.0.1@${port}`,
      `  port: ${port}`,
      "  do-ip6: no",
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${path.join(dir, "nsd.pid")}"`,
      '  database: ""',
      `  xfrdfile: "${path.join(dir, "xfrd.state")}"`,
      `  zonelistfile: "${path.join(dir, "zone.list")}"`,
      `  xfrdir: "${dir}"`,
      `  logfile: "${path.join(dir, "nsd.log")}"`,
      "  server-count: 1",
      "  verbosity: 0",
      "  hide-version: yes",
      "  rrl-ratelimit: 0",
      "remote-control:",
      "  control-enable: no",
      ...zones,
    ].join("\n"),
  );
  const child = start("nsd", tools.taskset, ["-c", String(SERVER_CPU), tools.nsd, "-d", "-c", conf]);
  await waitUntil(child, 120, "NSD to load the zones", async () => {
    const reply = await queryOnce(port, probeName, QTYPE.A);
    return reply?.rcode === 0;
  });
  return { name: "NSD", port, child };
}

/** The bare Node.js responder (bare-responder.ts): the runtime's ceiling for one process. */
export async function startBareResponder(tools: Record<Tool, string>, probeName: string): Promise<Server> {
  const port = await freePort();
  const args = ["-c", String(SERVER_CPU), process.execPath, BARE_RESPONDER, String(port)];
  const child = start("bare Node.js", tools.taskset, args);
  await waitUntil(child, 30, "the bare responder to answer", async () => {
    const reply = await queryOnce(port, probeName, QTYPE.A);
    return reply?.rcode === 0;
  });
  return { name: "bare Node.js", port, child };
}

/** A port free on 127.0.0.1 for both TCP and UDP at the moment of asking. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error("no free port on 127.0.0.1");
}

async function queryOnce(port: number, name: string, qtype: number) {
  const probe = await DnsProbe.open(port);
  try {
    return await probe.query(name, qtype, 200);
  } finally {
    probe.close();
  }
}

/** Polls `check` every 100 ms until it holds; fails when the child exits or the time is up. */
async function waitUntil(
  child: Child,
  timeoutSeconds: number,
  what: string,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + timeoutSeconds * 1000;
  while (performance.now() < deadline) {
    if (!child.isRunning())
      throw new Error(`${await child.exited} while waiting for ${what}\n${child.output()}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up after ${timeoutSeconds} s waiting for ${what}\n${child.output()}`);
}
