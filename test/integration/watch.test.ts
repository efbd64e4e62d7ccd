import { type ChildProcess, spawn } from "node:child_process";
import { Resolver } from "node:dns/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { untilEqual as until } from "../support/daemon.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { freePort, startPodns, type TestServer } from "../support/podns.js";

const NS = "shop";
const ZONE = "cluster.local";
const name = (svc: string) => `${svc}.${NS}.svc.${ZONE}`;

function service(svc: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: svc, namespace: NS },
    spec: {
      clusterIP: "None",
      selector: { app: svc },
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
      ...spec,
    },
  };
}

interface Ep {
  ip: string;
  pod: string;
  ready?: boolean;
}

function slice(sliceName: string, svc: string, endpoints: Ep[]) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: sliceName, namespace: NS, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      targetRef: { kind: "Pod", namespace: NS, name: e.pod },
    })),
  };
}

function pod(podName: string, weight?: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName,
      namespace: NS,
      annotations: weight === undefined ? {} : { "podns.io/weight": weight },
    },
    spec: { nodeName: "node-a" },
  };
}

function resolver(port: number): Resolver {
  const r = new Resolver({ timeout: 500, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

/** The sorted A records of `qname`, or the resolver's error code (ENOTFOUND for NXDOMAIN, ESERVFAIL, ...). */
async function addresses(port: number, qname: string): Promise<string[] | string> {
  try {
    return (await resolver(port).resolve4(qname)).sort();
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe("podns following a live Kubernetes watch", () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  let server: TestServer;

  beforeEach(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
    kubeconfig = await api.writeKubeconfig(await mkdtemp(path.join(tmpdir(), "podns-kube-")));
    api.apply(service("cart"));
    api.apply(
      slice("cart-1", "cart", [
        { ip: "10.1.0.1", pod: "cart-a" },
        { ip: "10.1.0.2", pod: "cart-b" },
      ]),
    );
    api.apply(pod("cart-a"));
    api.apply(pod("cart-b"));
  });

  afterEach(async () => {
    await server?.stop();
    await api.stop();
  });

  const start = () =>
    startPodns({ kube: { kind: "kubeconfig", file: kubeconfig }, backoff: { initial: 0.05, max: 0.4 } }).then(
      (s) => {
        server = s;
        return s;
      },
    );

  it("answers SERVFAIL and is not ready until the first sync, then answers from the cluster", async () => {
    api.setDelay(800);
    const s = await start();
    expect(await addresses(s.port, name("cart"))).toBe("ESERVFAIL");
    expect((await fetch(`http://127.0.0.1:${s.httpPort}/readyz`)).status).toBe(503);
    await until(() => addresses(s.port, name("cart")), ["10.1.0.1", "10.1.0.2"], 5000);
    expect((await fetch(`http://127.0.0.1:${s.httpPort}/readyz`)).status).toBe(200);
  });

  it("follows EndpointSlices being added, changed and deleted within a second", async () => {
    const s = await start();
    await until(() => addresses(s.port, name("cart")), ["10.1.0.1", "10.1.0.2"]);

    api.apply(slice("cart-2", "cart", [{ ip: "10.1.0.3", pod: "cart-c" }]));
    expect(
      await until(() => addresses(s.port, name("cart")), ["10.1.0.1", "10.1.0.2", "10.1.0.3"], 1000),
    ).toBeLessThan(1000);

    api.apply(
      slice("cart-1", "cart", [
        { ip: "10.1.0.1", pod: "cart-a", ready: false },
        { ip: "10.1.0.2", pod: "cart-b" },
      ]),
    );
    await until(() => addresses(s.port, name("cart")), ["10.1.0.2", "10.1.0.3"], 1000);

    api.remove("EndpointSlice", NS, "cart-1");
    api.remove("EndpointSlice", NS, "cart-2");
    // A headless Service without ready endpoints does not exist in DNS (specification 1.1.0, section 2.4.1).
    await until(() => addresses(s.port, name("cart")), "ENOTFOUND", 1000);
  });

  it("re-weighs SRV records when a pod's weight annotation changes", async () => {
    const s = await start();
    const srv = () =>
      resolver(s.port)
        .resolveSrv(`_http._tcp.${name("cart")}`)
        .then((records) => records.map((r) => `${r.name.split(".")[0]} ${r.weight}`).sort())
        .catch((err: { code: string }) => [err.code]);
    await until(srv, ["10-1-0-1 65535", "10-1-0-2 65535"]);
    api.apply(pod("cart-a", "300"));
    await until(srv, ["10-1-0-1 65535", "10-1-0-2 21845"], 1000);
  });

  it("recovers after the watch is dropped mid-stream and sees the changes made meanwhile", async () => {
    const s = await start();
    await until(() => addresses(s.port, name("cart")), ["10.1.0.1", "10.1.0.2"]);
    await api.goOffline();
    api.apply(slice("cart-1", "cart", [{ ip: "10.1.0.9", pod: "cart-z" }]));
    // While the API is away, the last known data keeps being served.
    expect(await addresses(s.port, name("cart"))).toEqual(["10.1.0.1", "10.1.0.2"]);
    await api.goOnline();
    await until(() => addresses(s.port, name("cart")), ["10.1.0.9"], 5000);
  });

  it("relists after 410 Gone and drops objects deleted while disconnected", async () => {
    api.apply(service("gone"));
    api.apply(slice("gone-1", "gone", [{ ip: "10.2.0.1", pod: "gone-a" }]));
    const s = await start();
    await until(() => addresses(s.port, name("gone")), ["10.2.0.1"]);
    await api.goOffline();
    api.remove("EndpointSlice", NS, "gone-1");
    api.remove("Service", NS, "gone");
    api.compact();
    await api.goOnline();
    await until(() => addresses(s.port, name("gone")), "ENOTFOUND", 5000);
    expect(await addresses(s.port, name("cart"))).toEqual(["10.1.0.1", "10.1.0.2"]);
  });
});

describe("podns serve --kubeconfig (the command) against the fake API server", () => {
  let api: FakeApiServer;
  let child: ChildProcess;
  let port: number;

  beforeAll(async () => {
    api = await FakeApiServer.start();
    const kubeconfig = await api.writeKubeconfig(await mkdtemp(path.join(tmpdir(), "podns-kube-")));
    api.apply(service("cart"));
    api.apply(slice("cart-1", "cart", [{ ip: "10.1.0.1", pod: "cart-a" }]));
    port = await freePort();
    const bin = path.resolve(import.meta.dirname, "../../bin/podns.js");
    child = spawn(
      process.execPath,
      [
        bin,
        "serve",
        "--kubeconfig",
        kubeconfig,
        "--listen",
        `127.0.0.1:${port}`,
        "--http-listen",
        "127.0.0.1:0",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    await until(() => addresses(port, name("cart")), ["10.1.0.1"], 10_000);
  }, 20_000);

  afterAll(async () => {
    child?.kill("SIGKILL");
    await api?.stop();
  });

  it("serves the live cluster and follows a change within a second", async () => {
    api.apply(
      slice("cart-1", "cart", [
        { ip: "10.1.0.1", pod: "cart-a" },
        { ip: "10.1.0.7", pod: "cart-b" },
      ]),
    );
    expect(await until(() => addresses(port, name("cart")), ["10.1.0.1", "10.1.0.7"], 1000)).toBeLessThan(
      1000,
    );
  });
});
