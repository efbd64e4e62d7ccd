import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  type Informer,
  KubeConfig,
  type KubernetesObject,
  ListWatch,
  makeInformer,
  type ObjectCache,
  Watch,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeApiServer } from "./fake-apiserver.js";

const SLICES = "/apis/discovery.k8s.io/v1/endpointslices";
const SERVICES = "/api/v1/services";

function service(name: string, namespace = "default", labels: Record<string, string> = {}, port = 80) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels },
    spec: { ports: [{ name: "http", port, protocol: "TCP" }] },
  };
}

function slice(name: string, service: string, addresses: string[], namespace = "default") {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": service } },
    addressType: "IPv4",
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  };
}

/** Polls until `check` holds, failing with `what` after `ms`: every wait in these tests is bounded. */
async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type Verb = "add" | "update" | "delete" | "error";
interface Seen {
  verb: Verb;
  name: string;
  rv: string;
  error?: { statusCode?: number; code?: number | string; name?: string; message?: string };
}

/** Records what an informer emits; errors after a deliberate stop (AbortError) are not recorded. */
function observe<T extends KubernetesObject>(informer: Informer<T>): Seen[] {
  const seen: Seen[] = [];
  for (const verb of ["add", "update", "delete"] as const) {
    informer.on(verb, (obj) =>
      seen.push({ verb, name: obj.metadata?.name ?? "", rv: obj.metadata?.resourceVersion ?? "" }),
    );
  }
  informer.on("error", (error) => {
    if (error?.name !== "AbortError") seen.push({ verb: "error", name: "", rv: "", error });
  });
  return seen;
}

const has = (seen: Seen[], verb: Verb, name = "") => seen.some((s) => s.verb === verb && s.name === name);

describe("FakeApiServer with the real client-node", () => {
  let fake: FakeApiServer;
  let dir: string;
  let kc: KubeConfig;
  const informers: Informer<KubernetesObject>[] = [];

  beforeEach(async () => {
    fake = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
    dir = await mkdtemp(join(tmpdir(), "fake-apiserver-"));
    kc = new KubeConfig();
    kc.loadFromFile(await fake.writeKubeconfig(dir));
  });

  afterEach(async () => {
    for (const informer of informers.splice(0)) await informer.stop();
    await fake.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function sliceInformer(): Informer<KubernetesObject> & ObjectCache<KubernetesObject> {
    const api = kc.makeApiClient(DiscoveryV1Api);
    const informer = makeInformer(kc, SLICES, () => api.listEndpointSliceForAllNamespaces());
    informers.push(informer);
    return informer;
  }

  it("serves list then watch to an informer, which sees EndpointSlices added, updated and deleted", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    expect(has(seen, "add", "web-abc")).toBe(true);

    fake.apply(slice("api-xyz", "api", ["10.0.1.1"], "prod"));
    fake.apply(slice("web-abc", "web", ["10.0.0.1", "10.0.0.2"]));
    fake.remove("EndpointSlice", "prod", "api-xyz");
    await until("the delete", () => has(seen, "delete", "api-xyz"));

    expect(seen.map((s) => `${s.verb} ${s.name}`)).toEqual([
      "add web-abc",
      "add api-xyz",
      "update web-abc",
      "delete api-xyz",
    ]);
    expect(informer.get("web-abc", "default")?.metadata?.resourceVersion).toBe(
      fake.get("EndpointSlice", "default", "web-abc")?.metadata.resourceVersion,
    );
    const watch = fake.requests.find((r) => r.path === SLICES && r.query.watch === "true");
    expect(watch?.query.resourceVersion).toBe("2");
  });

  it("filters a namespaced Service informer by label, turning a label change into a delete", async () => {
    fake.apply(service("web", "prod", { app: "web", tier: "front" }));
    fake.apply(service("db", "prod", { app: "db" }));
    fake.apply(service("web", "dev", { app: "web" }));
    const api = kc.makeApiClient(CoreV1Api);
    const path = "/api/v1/namespaces/prod/services";
    const selector = "app=web,tier!=back";
    const informer = makeInformer(
      kc,
      path,
      () => api.listNamespacedService({ namespace: "prod", labelSelector: selector }),
      selector,
    );
    informers.push(informer);
    const seen = observe(informer);
    await informer.start();
    expect(informer.list().map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual(["prod/web"]);

    fake.apply(service("web", "dev", { app: "web" }, 81));
    fake.apply(service("web2", "prod", { app: "web" }));
    fake.apply(service("web", "prod", { app: "web", tier: "back" }));
    await until("the delete", () => has(seen, "delete", "web"));
    expect(seen.map((s) => `${s.verb} ${s.name}`)).toEqual(["add web", "add web2", "delete web"]);
    expect(fake.requests.find((r) => r.path === path && r.query.watch)?.query.labelSelector).toBe(selector);
  });

  it("filters by field selector on list and watch", async () => {
    fake.apply(service("a", "one"));
    fake.apply(service("b", "one"));
    fake.apply(service("a", "two"));
    const api = kc.makeApiClient(CoreV1Api);
    const byNamespace = await api.listServiceForAllNamespaces({ fieldSelector: "metadata.namespace=one" });
    expect(byNamespace.items.map((s) => s.metadata?.name)).toEqual(["a", "b"]);

    const fieldSelector = "metadata.name=a";
    const list = () => api.listServiceForAllNamespaces({ fieldSelector });
    const informer = new ListWatch(SERVICES, new Watch(kc), list, false, undefined, fieldSelector);
    informers.push(informer);
    const seen = observe(informer);
    await informer.start();
    fake.apply(service("b", "two"));
    fake.apply(service("a", "three"));
    await until("the add in three", () => seen.length === 3);
    expect(informer.list().map((s) => s.metadata?.namespace)).toEqual(["one", "two", "three"]);
  });

  it("omits apiVersion and kind from list items but sends them on watch objects, as a real apiserver does", async () => {
    fake.apply(service("web"));
    const list = await kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    expect(list.kind).toBe("ServiceList");
    expect(list.items[0]?.metadata?.name).toBe("web");
    expect(list.items[0]?.kind).toBeUndefined();
    const kinds: string[] = [];
    const controller = await new Watch(kc).watch(
      SERVICES,
      { resourceVersion: "0" },
      (_type, obj) => kinds.push(`${obj.apiVersion} ${obj.kind}`),
      () => {},
    );
    await until("the ADDED event", () => kinds.length === 1);
    controller.abort();
    expect(kinds).toEqual(["v1 Service"]);
  });

  it("reads a single object by name and answers 404 with a NotFound Status when absent", async () => {
    fake.apply(service("web", "prod"));
    const api = kc.makeApiClient(CoreV1Api);
    const found = await api.readNamespacedService({ name: "web", namespace: "prod" });
    expect(found.spec?.ports?.[0]?.port).toBe(80);
    expect(found.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);

    const missing = await api.readNamespacedService({ name: "nope", namespace: "prod" }).catch((e) => e);
    expect(missing).toBeInstanceOf(ApiException);
    expect((missing as ApiException<string>).code).toBe(404);
    expect(JSON.parse((missing as ApiException<string>).body)).toMatchObject({
      kind: "Status",
      reason: "NotFound",
    });
  });

  it("keeps uid and creationTimestamp across replaces and bumps one resourceVersion shared by all kinds", () => {
    const first = fake.apply(service("web"));
    fake.apply({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", namespace: "ignored" } });
    const second = fake.apply(service("web", "default", {}, 81));
    expect(second.metadata.uid).toBe(first.metadata.uid);
    expect(second.metadata.creationTimestamp).toBe(first.metadata.creationTimestamp);
    expect(Number(second.metadata.resourceVersion)).toBe(Number(first.metadata.resourceVersion) + 2);
    expect(fake.get("Node", "", "n1")?.metadata.namespace).toBeUndefined();
    expect(fake.remove("Service", "default", "web")).toBe(true);
    expect(fake.remove("Service", "default", "web")).toBe(false);
    expect(fake.currentResourceVersion()).toBe(String(Number(second.metadata.resourceVersion) + 1));
    expect(() => fake.apply({ apiVersion: "apps/v1", kind: "Service", metadata: { name: "x" } })).toThrow();
  });

  it("serves chunked lists with limit and continue at one list resourceVersion, and 410 after compaction", async () => {
    for (const name of ["e", "b", "d", "a", "c"]) fake.apply(service(name));
    const api = kc.makeApiClient(CoreV1Api);
    const first = await api.listServiceForAllNamespaces({ limit: 2 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(["a", "b"]);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const listRv = first.metadata?.resourceVersion;

    fake.remove("Service", "default", "a");
    const second = await api.listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue });
    const third = await api.listServiceForAllNamespaces({ limit: 2, _continue: second.metadata?._continue });
    expect([...second.items, ...third.items].map((s) => s.metadata?.name)).toEqual(["c", "d", "e"]);
    expect([second.metadata?.resourceVersion, third.metadata?.resourceVersion]).toEqual([listRv, listRv]);
    expect(third.metadata?._continue).toBeUndefined();

    fake.compact();
    const expired = await api
      .listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue })
      .catch((e) => e);
    expect((expired as ApiException<string>).code).toBe(410);
    expect(JSON.parse((expired as ApiException<string>).body).reason).toBe("Expired");
  });

  it("sends bookmarks at the current resourceVersion only to watches that allow them", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    const rv = fake.currentResourceVersion();
    const events: { with: string[]; without: string[] } = { with: [], without: [] };
    const watch = new Watch(kc);
    const noop = () => {};
    const withBookmarks = await watch.watch(
      SLICES,
      { allowWatchBookmarks: true, resourceVersion: rv },
      (type, obj) => events.with.push(`${type} ${obj.kind} ${obj.metadata.resourceVersion}`),
      noop,
    );
    const without = await watch.watch(
      SLICES,
      { resourceVersion: rv },
      (type) => events.without.push(type),
      noop,
    );
    await until("two bookmarks", () => events.with.length >= 2);
    withBookmarks.abort();
    without.abort();
    expect(events.with[0]).toBe(`BOOKMARK EndpointSlice ${rv}`);
    expect(events.without).toEqual([]);
  });

  it("replays the current state as ADDED to a watch from resourceVersion 0", async () => {
    fake.apply(service("a"));
    fake.apply(service("b"));
    const seen: string[] = [];
    const controller = await new Watch(kc).watch(
      SERVICES,
      { resourceVersion: "0" },
      (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    await until("two events", () => seen.length === 2);
    controller.abort();
    expect(seen.sort()).toEqual(["ADDED a", "ADDED b"]);
  });

  it("ends a watch cleanly after timeoutSeconds", async () => {
    let done: unknown = "not yet";
    await new Watch(kc).watch(
      SERVICES,
      { resourceVersion: fake.currentResourceVersion(), timeoutSeconds: 1 },
      () => {},
      (err) => {
        done = err;
      },
    );
    expect(fake.openWatchCount()).toBe(1);
    await until("the watch to end", () => done !== "not yet", 3000);
    expect(done).toBeNull();
    expect(fake.openWatchCount()).toBe(0);
  });

  it("resumes from the last resourceVersion after dropWatches without relisting", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    fake.dropWatches();
    await until("an error", () => has(seen, "error"));

    fake.apply(slice("api-xyz", "api", ["10.0.1.1"]));
    fake.remove("EndpointSlice", "default", "web-abc");
    await informer.start();
    await until("the delete", () => has(seen, "delete", "web-abc"));
    expect(has(seen, "add", "api-xyz")).toBe(true);
    expect(fake.countRequests({ path: SLICES, watch: false })).toBe(1);
    expect(fake.countRequests({ path: SLICES, watch: true })).toBe(2);
  });

  it("makes an informer relist by itself after compaction answers its watch with a 410 ERROR event", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    fake.apply(slice("old-one", "old", ["10.0.9.9"]));
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    fake.dropWatches();
    await until("an error", () => has(seen, "error"));

    fake.remove("EndpointSlice", "default", "old-one");
    fake.apply(slice("api-xyz", "api", ["10.0.1.1"]));
    fake.compact();
    await informer.start();
    await until("the delete found by relisting", () => has(seen, "delete", "old-one"));
    expect(has(seen, "add", "api-xyz")).toBe(true);
    expect(seen.filter((s) => s.verb === "error")).toHaveLength(1);
    expect(fake.countRequests({ path: SLICES, watch: false })).toBe(2);
    await until("the new watch", () => fake.openWatchCount() === 1);
  });

  it("makes an informer relist by itself when a reconnecting watch gets HTTP 410", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    fake.goneOnConnect(1);
    fake.endWatches();
    await until("a relist", () => fake.countRequests({ path: SLICES, watch: false }) === 2);
    await until("the new watch", () => fake.openWatchCount() === 1);
    fake.apply(slice("api-xyz", "api", ["10.0.1.1"]));
    await until("the add", () => has(seen, "add", "api-xyz"));
    expect(has(seen, "error")).toBe(false);
  });

  it("reports injected failures on list and watch through the informer's error event", async () => {
    const informer = sliceInformer();
    const seen = observe(informer);
    fake.failNext(1, 503);
    await informer.start();
    await until("the list error", () => has(seen, "error"));
    expect(seen[0]?.error).toBeInstanceOf(ApiException);
    expect(seen[0]?.error?.code).toBe(503);

    await informer.start();
    expect(fake.openWatchCount()).toBe(1);
    fake.failNext(1, 500);
    fake.endWatches();
    await until("the watch error", () => seen.filter((s) => s.verb === "error").length === 2);
    expect(seen[1]?.error?.statusCode).toBe(500);

    // A failed watch keeps the informer's resourceVersion: the next start() resumes the watch without relisting.
    await informer.start();
    expect(fake.openWatchCount()).toBe(1);
    expect(fake.countRequests({ path: SLICES, watch: false })).toBe(2);
  });

  it("delays every response by setDelay", async () => {
    const api = kc.makeApiClient(CoreV1Api);
    fake.setDelay(150);
    const started = Date.now();
    await api.listServiceForAllNamespaces();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("keeps silenced watches open but sends them nothing, not even bookmarks", async () => {
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    const bookmarks: string[] = [];
    await new Watch(kc).watch(
      SLICES,
      { allowWatchBookmarks: true, resourceVersion: fake.currentResourceVersion() },
      (type) => bookmarks.push(type),
      () => {},
    );
    await until("a bookmark", () => bookmarks.length > 0);
    fake.silenceWatches();
    const before = bookmarks.length;
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual([]);
    expect(bookmarks.length).toBe(before);
    expect(fake.openWatchCount()).toBe(2);

    fake.dropWatches();
    await until("an error", () => has(seen, "error"));
    await informer.start();
    await until("the add after resuming", () => has(seen, "add", "web-abc"));
  });

  it("refuses connections while offline and serves again on the same port when back online", async () => {
    fake.apply(slice("web-abc", "web", ["10.0.0.1"]));
    const url = fake.url;
    const informer = sliceInformer();
    const seen = observe(informer);
    await informer.start();
    await fake.goOffline();
    await until("an error for the cut watch", () => has(seen, "error"));
    expect(seen.find((s) => s.verb === "error")?.error?.code).toBe("ERR_STREAM_PREMATURE_CLOSE");

    await informer.start();
    await until("a refused connection", () => seen.some((s) => s.error?.code === "ECONNREFUSED"));
    fake.apply(slice("api-xyz", "api", ["10.0.1.1"]));
    await fake.goOnline();
    expect(fake.url).toBe(url);
    await informer.start();
    await until("the add after coming back", () => has(seen, "add", "api-xyz"));
  });
});
