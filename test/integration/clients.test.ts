/**
 * Real clients acting on podns's weights: HAProxy filling a server-template from SRV records and balancing HTTP by
 * their weights, unbound and dnsmasq forwarding the zone as stub resolvers and honouring the TTL, and Node's
 * resolveSrv feeding RFC 2782 weighted selection. Everything listens on 127.0.0.x; podns serves a manifest folder
 * that the tests edit, with a TTL of 1 s so that changes show quickly.
 */
import { promises as dns } from "node:dns";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { seededRandom } from "../../src/dns/shuffle.js";
import { poll } from "../support/daemon.js";
import { type DigResult, dig } from "../support/dig.js";
import { Haproxy, type ServerState, SRV_ADMF_MAINT } from "../support/haproxy.js";
import { countResponses, type HttpBackends, startHttpBackends } from "../support/http-backends.js";
import { startPodns, type TestServer } from "../support/podns.js";
import { type StubResolver, startDnsmasq, startUnbound } from "../support/resolvers.js";
import { orderRfc2782 } from "../support/rfc2782.js";

const NS = "shop";
const SVC = "web";
const ZONE = "cluster.local";
const SERVICE_NAME = `${SVC}.${NS}.svc.${ZONE}`;
const SRV_NAME = `_http._tcp.${SERVICE_NAME}`;
/** Seconds: podns's TTL, and so the longest any resolver may keep an answer. */
const TTL = 1;

interface PodSpec {
  readonly name: string;
  readonly version: "stable" | "canary";
  readonly address: string;
}

/** 3 stable and 2 canary pods: a 90/10 split gives each stable pod 30% and each canary pod 5%. */
const PODS: readonly PodSpec[] = [
  { name: "web-stable-1", version: "stable", address: "127.0.0.11" },
  { name: "web-stable-2", version: "stable", address: "127.0.0.12" },
  { name: "web-stable-3", version: "stable", address: "127.0.0.13" },
  { name: "web-canary-1", version: "canary", address: "127.0.0.14" },
  { name: "web-canary-2", version: "canary", address: "127.0.0.15" },
];

/** The Service, its EndpointSlice and its Pods as kubectl prints them. */
function shopManifests(split: string, pods: readonly PodSpec[], port: number): string {
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: SVC, namespace: NS, annotations: { "podns.io/traffic-split": split } },
    spec: {
      type: "ClusterIP",
      clusterIP: "10.96.40.10",
      clusterIPs: ["10.96.40.10"],
      selector: { app: SVC },
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http" }],
    },
  };
  const slice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${SVC}-abcde`, namespace: NS, labels: { "kubernetes.io/service-name": SVC } },
    addressType: "IPv4",
    endpoints: pods.map((p) => ({
      addresses: [p.address],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: "Pod", namespace: NS, name: p.name },
    })),
    ports: [{ name: "http", port, protocol: "TCP" }],
  };
  const podObjects = pods.map((p) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: p.name, namespace: NS, labels: { app: SVC, version: p.version } },
    spec: { containers: [{ name: "web", image: "registry.example.com/shop/web:1.0.0" }] },
    status: { phase: "Running", podIP: p.address, podIPs: [{ ip: p.address }] },
  }));
  return [service, slice, ...podObjects].map((doc) => stringify(doc)).join("---\n");
}

/** A temp folder with `manifests/` for podns; writes replace the manifest file atomically (rename). */
class Workspace {
  readonly root = mkdtempSync(path.join(os.tmpdir(), "podns-clients-"));
  readonly manifests = path.join(this.root, "manifests");

  constructor() {
    mkdirSync(this.manifests);
  }

  sub(name: string): string {
    const dir = path.join(this.root, name);
    mkdirSync(dir);
    return dir;
  }

  writeManifests(text: string): void {
    const staged = path.join(this.root, "web.yaml.new");
    writeFileSync(staged, text);
    renameSync(staged, path.join(this.manifests, "web.yaml"));
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Stops everything that started, whatever failed, then removes the workspace. */
async function tearDown(
  ws: Workspace | undefined,
  ...stops: ((() => Promise<void>) | undefined)[]
): Promise<void> {
  const results = await Promise.allSettled(stops.map((stop) => stop?.()));
  ws?.remove();
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

interface Srv {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  /** Without the trailing dot, lowercase. */
  readonly target: string;
}

function srvRecords(result: DigResult): Srv[] {
  expect(result.rcode).toBe("NOERROR");
  return result.answer.map((line) => {
    const [, , , type, priority, weight, port, target] = line.split(" ");
    expect(type).toBe("SRV");
    return {
      priority: Number(priority),
      weight: Number(weight),
      port: Number(port),
      target: target!.replace(/\.$/, "").toLowerCase(),
    };
  });
}

/** `owner type rdata` lines of a section, TTLs left out, sorted: resolvers count TTLs down and may reorder. */
function withoutTtl(lines: readonly string[]): string[] {
  return lines.map((l) => l.replace(/^(\S+) \d+ /, "$1 ")).sort();
}

function ttls(lines: readonly string[]): number[] {
  return lines.map((l) => Number(l.split(" ")[1]));
}

/** A records of the additional section, by owner name without the trailing dot. */
function glue(result: DigResult): Map<string, string> {
  return new Map(
    result.additional
      .map((l) => l.split(" "))
      .filter((f) => f[3] === "A")
      .map((f) => [f[0]!.replace(/\.$/, "").toLowerCase(), f[4]!]),
  );
}

/** The address an address-derived per-pod name stands for: `127-0-0-11.web...` is 127.0.0.11. */
function addressOf(target: string): string {
  return target.split(".")[0]!.replaceAll("-", ".");
}

function versionOf(address: string): PodSpec["version"] | undefined {
  return PODS.find((p) => p.address === address)?.version;
}

/** Share of `version` in counts keyed by address or pod name, in percent. */
function percentOf(version: PodSpec["version"], counts: ReadonlyMap<string, number>): number {
  let total = 0;
  let matching = 0;
  for (const [key, n] of counts) {
    total += n;
    if (PODS.some((p) => p.version === version && (p.name === key || p.address === key))) matching += n;
  }
  return (100 * matching) / total;
}

describe("HAProxy 2.6 resolving the Service's SRV record through podns", () => {
  let ws: Workspace;
  let backends: HttpBackends | undefined;
  let podns: TestServer | undefined;
  let haproxy: Haproxy | undefined;
  let frontend = "";

  /** What HAProxy should hold per SRV record: `target address:port weight`, weight = ceil(SRV weight / 256). */
  async function expectedServers(): Promise<string[]> {
    const answer = await dig(podns!.port, "SRV", SRV_NAME);
    const addresses = glue(answer);
    return srvRecords(answer)
      .map((r) => `${r.target} ${addresses.get(r.target)}:${r.port} ${Math.ceil(r.weight / 256)}`)
      .sort();
  }

  /** HAProxy's servers in the same form, for the slots that have an address. */
  function heldServers(state: readonly ServerState[]): string[] {
    return state
      .filter((s) => s.address !== "-" && s.address !== "0.0.0.0")
      .map((s) => `${s.fqdn.replace(/\.$/, "").toLowerCase()} ${s.address}:${s.port} ${s.weight}`)
      .sort();
  }

  /**
   * Polls until HAProxy's servers are exactly what podns's SRV answer says and `accept` agrees; returns the state.
   * On timeout the error shows both sides and HAProxy's output.
   */
  async function serversFollowingSrv(
    timeoutMs: number,
    accept: (state: ServerState[]) => boolean = () => true,
  ): Promise<ServerState[]> {
    return poll(
      "HAProxy's servers following podns's SRV answer",
      async () => {
        const state = await haproxy!.serversState();
        const held = heldServers(state);
        const want = await expectedServers();
        if (JSON.stringify(held) !== JSON.stringify(want) || !accept(state)) {
          throw new Error(`HAProxy holds\n${held.join("\n")}\npodns answers\n${want.join("\n")}`);
        }
        return state;
      },
      timeoutMs,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nHAProxy printed:\n${haproxy!.output()}`);
    });
  }

  function weightPercent(version: PodSpec["version"], state: readonly ServerState[]): number {
    return percentOf(version, new Map(state.map((s) => [s.address, s.weight])));
  }

  function expectOnlyPods(counts: ReadonlyMap<string, number>): void {
    expect([...counts.keys()].filter((k) => !PODS.some((p) => p.name === k))).toEqual([]);
  }

  beforeAll(async () => {
    ws = new Workspace();
    backends = await startHttpBackends(PODS.map((p) => ({ name: p.name, address: p.address })));
    ws.writeManifests(shopManifests("version: stable=90, canary=10", PODS, backends.port));
    podns = await startPodns({ sources: [ws.manifests], kube: { kind: "none" }, ttl: TTL });
    haproxy = await Haproxy.start({
      dir: ws.sub("haproxy"),
      dnsPort: podns.port,
      backend: "web",
      srvName: SRV_NAME,
      slots: PODS.length,
    });
    frontend = `http://127.0.0.1:${haproxy.frontendPort}/`;
  }, 30_000);

  afterAll(() => tearDown(ws, haproxy?.stop.bind(haproxy), backends?.close, podns?.stop));

  it("fills all five servers with the SRV targets' addresses, ports and weights of ceil(SRV weight / 256)", async () => {
    const state = await serversFollowingSrv(10_000);
    expect(state).toHaveLength(PODS.length);
    expect(new Set(state.map((s) => s.address))).toEqual(new Set(PODS.map((p) => p.address)));
    for (const s of state) {
      expect(s.opState, `${s.name} running`).toBe(2);
      expect(s.adminState & SRV_ADMF_MAINT, `${s.name} not in maintenance`).toBe(0);
    }
    expect(Math.max(...state.map((s) => s.weight))).toBe(256);
    expect(weightPercent("stable", state)).toBeCloseTo(90, 0);
  }, 15_000);

  it("sends 90% of 2,000 requests to the stable pods, within 3 points", async () => {
    const counts = await countResponses(frontend, { requests: 2000, concurrency: 16, timeoutMs: 5000 });
    expectOnlyPods(counts);
    expect(Math.abs(percentOf("stable", counts) - 90)).toBeLessThanOrEqual(3);
    for (const pod of PODS) expect(counts.get(pod.name), pod.name).toBeGreaterThan(0);
  }, 30_000);

  it("follows the split rewritten to 50/50 within seconds, then balances requests half and half", async () => {
    ws.writeManifests(shopManifests("version: stable=50, canary=50", PODS, backends!.port));
    // File reload (under 1 s) + TTL (1 s) + hold valid (1 s) + a resolution round, with room for a busy machine.
    const state = await serversFollowingSrv(10_000, (s) => Math.abs(weightPercent("canary", s) - 50) < 1);
    expect(weightPercent("stable", state)).toBeCloseTo(50, 0);

    const counts = await countResponses(frontend, { requests: 1000, concurrency: 16, timeoutMs: 5000 });
    expectOnlyPods(counts);
    expect(Math.abs(percentOf("stable", counts) - 50)).toBeLessThanOrEqual(5);
  }, 30_000);
});

describe("unbound and dnsmasq forwarding cluster.local to podns", () => {
  let ws: Workspace;
  let podns: TestServer | undefined;
  const resolvers: StubResolver[] = [];

  beforeAll(async () => {
    ws = new Workspace();
    ws.writeManifests(shopManifests("version: stable=90, canary=10", PODS, 8080));
    podns = await startPodns({ sources: [ws.manifests], kube: { kind: "none" }, ttl: TTL });
    const opts = { zone: ZONE, podnsPort: podns.port, probe: SERVICE_NAME };
    resolvers.push(await startUnbound({ ...opts, dir: ws.sub("unbound") }));
    resolvers.push(await startDnsmasq({ ...opts, dir: ws.sub("dnsmasq") }));
  }, 30_000);

  afterAll(() => tearDown(ws, podns?.stop, ...resolvers.map((r) => r.stop)));

  const byName = (name: string) => resolvers.find((r) => r.name === name)!;

  it.each(["unbound", "dnsmasq"])("%s passes on podns's SRV records, weights and TTL", async (name) => {
    const resolver = byName(name);
    const direct = await dig(podns!.port, "SRV", SRV_NAME);
    // Twice: the first answer may come from podns, the second from the resolver's cache.
    for (let i = 0; i < 2; i++) {
      const via = await dig(resolver.port, "SRV", SRV_NAME);
      expect(via.rcode).toBe("NOERROR");
      expect(withoutTtl(via.answer)).toEqual(withoutTtl(direct.answer));
      expect(Math.max(...ttls(via.answer))).toBeLessThanOrEqual(TTL);
    }
    expect(srvRecords(direct).map((r) => r.weight)).toContain(65535);
  });

  it.each(["unbound", "dnsmasq"])("%s answers the SRV targets' and the Service's A records", async (name) => {
    const resolver = byName(name);
    const direct = await dig(podns!.port, "SRV", SRV_NAME);
    const addresses = glue(direct);
    expect(addresses.size).toBe(PODS.length);
    for (const [target, address] of addresses) {
      const via = await dig(resolver.port, "A", target);
      expect(
        via.answer.map((l) => l.split(" ")[4]),
        target,
      ).toEqual([address]);
      expect(Math.max(...ttls(via.answer))).toBeLessThanOrEqual(TTL);
    }
    const service = await dig(resolver.port, "A", SERVICE_NAME);
    expect(withoutTtl(service.answer)).toEqual(
      withoutTtl((await dig(podns!.port, "A", SERVICE_NAME)).answer),
    );
  });

  /** Polls every resolver until its SRV answer equals podns's own; returns milliseconds per resolver. */
  async function resolversCatchUp(timeoutMs: number): Promise<Record<string, number>> {
    const started = Date.now();
    const want = withoutTtl((await dig(podns!.port, "SRV", SRV_NAME)).answer);
    const took: Record<string, number> = {};
    await Promise.all(
      resolvers.map(async (r) => {
        await poll(
          `${r.name} serving the new SRV answer`,
          async () => {
            const via = await dig(r.port, "SRV", SRV_NAME);
            return JSON.stringify(withoutTtl(via.answer)) === JSON.stringify(want) ? true : undefined;
          },
          timeoutMs,
          100,
        );
        took[r.name] = Date.now() - started;
      }),
    );
    return took;
  }

  /** Waits until podns itself serves `count` SRV records (the file reload takes up to about a second). */
  async function podnsServes(count: number): Promise<void> {
    await poll(
      `podns serving ${count} SRV records`,
      async () => ((await dig(podns!.port, "SRV", SRV_NAME)).answer.length === count ? true : undefined),
      5000,
    );
  }

  it("both show an added endpoint, and then a removed one, once the TTL has passed", async () => {
    const extra: PodSpec = { name: "web-canary-3", version: "canary", address: "127.0.0.16" };
    const target = `127-0-0-16.${SERVICE_NAME}`;
    for (const r of resolvers) await dig(r.port, "SRV", SRV_NAME); // fill the caches

    ws.writeManifests(shopManifests("version: stable=90, canary=10", [...PODS, extra], 8080));
    await podnsServes(PODS.length + 1);
    // Cached for at most the TTL: each resolver must catch up within TTL plus a query round.
    const added = await resolversCatchUp(TTL * 1000 + 3000);
    for (const r of resolvers) {
      const via = await dig(r.port, "A", target);
      expect(
        via.answer.map((l) => l.split(" ")[4]),
        `${r.name} ${added[r.name]} ms`,
      ).toEqual(["127.0.0.16"]);
    }

    ws.writeManifests(shopManifests("version: stable=90, canary=10", PODS.slice(1), 8080));
    await podnsServes(PODS.length - 1);
    await resolversCatchUp(TTL * 1000 + 3000);
    for (const r of resolvers) {
      const srv = srvRecords(await dig(r.port, "SRV", SRV_NAME)).map((s) => s.target);
      expect(srv).not.toContain(`127-0-0-11.${SERVICE_NAME}`);
      expect(srv).not.toContain(target);
    }
  }, 30_000);
});

describe("Node's resolveSrv with RFC 2782 weighted selection", () => {
  let ws: Workspace;
  let podns: TestServer | undefined;

  beforeAll(async () => {
    ws = new Workspace();
    ws.writeManifests(shopManifests("version: stable=90, canary=10", PODS, 8080));
    podns = await startPodns({ sources: [ws.manifests], kube: { kind: "none" }, ttl: TTL });
  }, 30_000);

  afterAll(() => tearDown(ws, podns?.stop));

  async function resolveSrv() {
    const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${podns!.port}`]);
    return resolver.resolveSrv(SRV_NAME);
  }

  it("sees the same priorities, weights and ports as dig", async () => {
    const node = (await resolveSrv()).map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}`).sort();
    const direct = srvRecords(await dig(podns!.port, "SRV", SRV_NAME));
    expect(node).toEqual(direct.map((r) => `${r.priority} ${r.weight} ${r.port} ${r.target}`).sort());
    expect(direct).toHaveLength(PODS.length);
    expect(new Set(direct.map((r) => r.priority))).toEqual(new Set([0]));
  });

  it("sees 90% of the summed weight on the stable pods' targets", async () => {
    const byAddress = new Map((await resolveSrv()).map((r) => [addressOf(r.name), r.weight]));
    expect(Math.max(...byAddress.values())).toBe(65535);
    expect(percentOf("stable", byAddress)).toBeCloseTo(90, 1);
  });

  it("gives the stable pods 90% of 10,000 seeded RFC 2782 selections, within 1.5 points", async () => {
    const records = await resolveSrv();
    const random = seededRandom(2782);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const first = orderRfc2782(records, random)[0]!;
      const address = addressOf(first.name);
      counts.set(address, (counts.get(address) ?? 0) + 1);
    }
    expect([...counts.keys()].filter((a) => versionOf(a) === undefined)).toEqual([]);
    expect(Math.abs(percentOf("stable", counts) - 90)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(percentOf("canary", counts) - 10)).toBeLessThanOrEqual(1.5);
  });
});
