/**
 * The operator's commands, run as the built `podns` binary: `query` (weights, shares, backup priorities, the
 * truncation warning), `check-zone` (OK, or exit 2 with file and line) and `export-zone` (master files that
 * `check-zone` accepts and that, served again, answer as podns does).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dig } from "../support/dig.js";
import { startPodns, type TestServer } from "../support/podns.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/podns.js");
const DEMO = path.join(ROOT, "zones");

interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function podns(...args: string[]): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 30_000, cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The table rows of `podns query` output: priority, weight, share, port, target, addresses. */
function rows(stdout: string): string[][] {
  return stdout
    .split("\n")
    .filter((line) => /^ {2}\d/.test(line))
    .map((line) => line.trim().split(/\s+/));
}

describe("podns query", () => {
  let server: TestServer;
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "podns-query-"));
    await writeFile(path.join(dir, "near.yaml"), NEAR);
    await writeFile(path.join(dir, "big.yaml"), big(150));
    server = await startPodns({ sources: [DEMO, dir] });
  });
  afterAll(() => server.stop());

  const ask = (...args: string[]) => podns("query", ...args, "--server", `127.0.0.1:${server.port}`);

  it("prints each SRV target of the demo canary with its priority, weight, share, port and address", async () => {
    const { code, stdout } = await ask("_http._tcp.checkout.demo.svc.cluster.local", "SRV");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe(
      "_http._tcp.checkout.demo.svc.cluster.local SRV: NOERROR (authoritative, 4 answers)",
    );
    expect(rows(stdout)).toEqual([
      ["0", "65535", "30.0%", "8080", "10-244-1-40.checkout.demo.svc.cluster.local.", "10.244.1.40"],
      ["0", "65535", "30.0%", "8080", "10-244-1-42.checkout.demo.svc.cluster.local.", "10.244.1.42"],
      ["0", "65535", "30.0%", "8080", "10-244-2-41.checkout.demo.svc.cluster.local.", "10.244.2.41"],
      ["0", "21845", "10.0%", "8080", "10-244-2-43.checkout.demo.svc.cluster.local.", "10.244.2.43"],
    ]);
  });

  it("marks the other zone's target as a backup for a querier whose pod is in zone-a", async () => {
    const { stdout } = await ask("SRV", "_http._tcp.near.geo.svc.cluster.local");
    expect(rows(stdout)).toEqual([
      ["0", "65535", "100.0%", "8080", "10-244-1-1.near.geo.svc.cluster.local.", "10.244.1.1"],
      ["1", "65535", "backup", "8080", "10-244-2-1.near.geo.svc.cluster.local.", "10.244.2.1"],
    ]);
  });

  it("warns that the UDP answer of 150 targets was truncated, and shows all of them from TCP", async () => {
    const { code, stdout } = await ask("_http._tcp.big.load.svc.cluster.local", "SRV");
    expect(code).toBe(0);
    expect(stdout).toContain("warning: the UDP answer was truncated (TC); asked again over TCP");
    expect(stdout).toContain("(authoritative, 150 answers)");
    const table = rows(stdout);
    expect(table).toHaveLength(150);
    expect(new Set(table.map((r) => r[2]))).toEqual(new Set(["0.7%"]));
  });

  it("prints no warning when the answer fits", async () => {
    const { stdout } = await ask("_http._tcp.web.demo.svc.cluster.local", "SRV");
    expect(stdout).not.toContain("truncated");
    expect(rows(stdout).map((r) => r.slice(1, 3))).toEqual([
      ["65535", "66.7%"],
      ["32768", "33.3%"],
    ]);
  });

  it("asks for the PTR of an IP address, and exits 1 with the rcode for a name that does not exist", async () => {
    const ptr = await ask("10.244.1.20");
    expect(ptr.stdout).toContain("20.1.244.10.in-addr.arpa PTR: NOERROR");
    expect(ptr.stdout).toContain("PTR db-0.db.demo.svc.cluster.local.");
    const missing = await ask("nosuch.demo.svc.cluster.local");
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("nosuch.demo.svc.cluster.local A: NXDOMAIN");
  });
});

describe("podns check-zone", () => {
  it("reports each zone file of the demo as OK with its record counts", async () => {
    const files = ["cluster.local.zone", "10.in-addr.arpa.zone"].map((f) => path.join(DEMO, f));
    const { code, stdout } = await podns("check-zone", ...files);
    expect(code).toBe(0);
    expect(stdout).toContain(`${files[0]}: zone cluster.local. OK: 4 records (1 SOA, 1 NS, 2 A)`);
    expect(stdout).toContain(`${files[1]}: zone 10.in-addr.arpa. OK`);
  });

  it("exits 2 naming the file and line of the first problem", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "podns-check-"));
    const file = path.join(dir, "bad.example.zone");
    await writeFile(
      file,
      "$ORIGIN bad.example.\n$TTL 5\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN A 10.0.0.300\n",
    );
    const { code, stderr } = await podns("check-zone", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^podns: ${file.replace(/[.]/g, "\\.")}:4: .*10\\.0\\.0\\.300`));
  });
});

describe("podns export-zone", () => {
  let dir: string;
  let original: TestServer;
  let exported: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "podns-export-"));
    const { code, stderr } = await podns("export-zone", "--source", DEMO, "-o", dir);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    original = await startPodns({ sources: [DEMO] });
    exported = await startPodns({ sources: [dir] });
  });
  afterAll(async () => {
    await original?.stop();
    await exported?.stop();
  });

  it("writes one master file per served zone, each of which check-zone accepts", async () => {
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(["10.in-addr.arpa.zone", "cluster.local.zone", "d.f.ip6.arpa.zone"]);
    const { code, stdout } = await podns("check-zone", ...files.map((f) => path.join(dir, f)));
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(3);
    expect(stdout).toMatch(/cluster\.local\.zone: zone cluster\.local\. OK: \d+ records/);
  });

  it.each([
    ["A", "web.demo.svc.cluster.local"],
    ["SRV", "_http._tcp.web.demo.svc.cluster.local"],
    ["SRV", "_http._tcp.checkout.demo.svc.cluster.local"],
    ["A", "db-0.db.demo.svc.cluster.local"],
    ["AAAA", "api.demo.svc.cluster.local"],
    ["A", "search.demo.svc.cluster.local"],
    ["PTR", "20.1.244.10.in-addr.arpa"],
    ["PTR", "0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa"],
    ["TXT", "dns-version.cluster.local"],
    ["A", "registry.infra.cluster.local"],
  ])("holds the records podns serves: %s %s", async (type, name) => {
    const want = await dig(original.port, type, name);
    const got = await dig(exported.port, type, name);
    expect(want.answer.length).toBeGreaterThan(0);
    expect(got.rcode).toBe(want.rcode);
    expect([...got.answer].sort()).toEqual([...want.answer].sort());
  });

  it("writes every zone to standard output without -o", async () => {
    const { code, stdout } = await podns("export-zone", "--source", DEMO);
    expect(code).toBe(0);
    expect(stdout.match(/^\$ORIGIN /gm)).toEqual(["$ORIGIN ", "$ORIGIN ", "$ORIGIN "]);
    expect(stdout).toMatch(
      /^_http\._tcp\.web\.demo\.svc +5 IN SRV 0 65535 8080 10-244-1-10\.web\.demo\.svc\.cluster\.local\.$/m,
    );
  });
});

/**
 * near: a Service preferring same-zone endpoints, one in zone-a and one in zone-b; the pod `probe` has the address
 * the tests query from, 127.0.0.1, on a zone-a node, so podns takes the querier to be in zone-a.
 */
const NEAR = `
apiVersion: v1
kind: Service
metadata: { name: near, namespace: geo }
spec:
  clusterIP: 10.96.50.10
  selector: { app: near }
  trafficDistribution: PreferClose
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: near-1, namespace: geo, labels: { kubernetes.io/service-name: near } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
  - { addresses: [10.244.1.1], zone: zone-a, nodeName: node-a }
  - { addresses: [10.244.2.1], zone: zone-b, nodeName: node-b }
---
apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Node, metadata: { name: node-a, labels: { topology.kubernetes.io/zone: zone-a } } }
  - { apiVersion: v1, kind: Node, metadata: { name: node-b, labels: { topology.kubernetes.io/zone: zone-b } } }
  - apiVersion: v1
    kind: Pod
    metadata: { name: probe, namespace: geo }
    spec: { nodeName: node-a }
    status: { podIP: 127.0.0.1, podIPs: [{ ip: 127.0.0.1 }] }
`;

/** big: a Service with `n` ready endpoints of equal weight, too many for one UDP answer. */
function big(n: number): string {
  const endpoints = Array.from(
    { length: n },
    (_, i) => `  - { addresses: [10.246.${Math.floor(i / 200)}.${(i % 200) + 1}] }`,
  );
  return `
apiVersion: v1
kind: Service
metadata: { name: big, namespace: load }
spec:
  clusterIP: None
  selector: { app: big }
  ports: [{ name: http, port: 80, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: big-1, namespace: load, labels: { kubernetes.io/service-name: big } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${endpoints.join("\n")}
`;
}
