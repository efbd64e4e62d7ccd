/**
 * A fake Kubernetes API server speaking the real list/watch HTTP protocol, so tests and benchmarks can drive the real
 * @kubernetes/client-node informers: one etcd-like resourceVersion counter, a bounded event log for resuming watches,
 * 410 Gone after compaction, chunked lists, bookmarks, and faults injected on demand.
 */
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";

const RESOURCE_TYPES = [
  { kind: "Service", apiVersion: "v1", plural: "services", namespaced: true },
  { kind: "Pod", apiVersion: "v1", plural: "pods", namespaced: true },
  { kind: "Node", apiVersion: "v1", plural: "nodes", namespaced: false },
  { kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1", plural: "endpointslices", namespaced: true },
] as const;
type ResourceType = (typeof RESOURCE_TYPES)[number];
export type FakeKind = ResourceType["kind"];

// The core group lives under /api/v1, every other group under /apis/GROUP/VERSION.
const ROUTE = /^\/(api\/v1|apis\/discovery\.k8s\.io\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/;

// Enough history for tests and benchmarks to resume watches; past it the oldest half is compacted away.
const HISTORY_LIMIT = 10_000;

export interface StoredObject {
  apiVersion: string;
  kind: FakeKind;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** What `apply` accepts: a manifest-shaped object, or a client-node model (Dates become strings). */
export interface ApplyInput {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  time: number;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED";
type Predicate = (obj: StoredObject) => boolean;

interface LoggedEvent {
  rv: number;
  type: EventType;
  object: StoredObject;
  previous?: StoredObject;
}

/** A parsed list or watch request: which objects it selects, and its query parameters. */
interface Target {
  resource: ResourceType;
  matches: Predicate;
  query: Record<string, string>;
}

interface Watcher extends Target {
  res: ServerResponse;
  silenced: boolean;
  timers: NodeJS.Timeout[];
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_REASONS: Record<number, string> = {
  400: "BadRequest",
  404: "NotFound",
  405: "MethodNotAllowed",
  410: "Expired",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

/** Index of the first key greater than `after` in sorted `keys`. */
function firstAfter(keys: readonly string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function statusBody(code: number, message: string): object {
  const reason = STATUS_REASONS[code] ?? "Unknown";
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly objects = new Map<string, StoredObject>();
  /** The keys of `objects` in order, kept between list pages (sorting 100,000 keys per page slowed the bench). */
  private sortedKeys: string[] | undefined;
  private log: LoggedEvent[] = [];
  // etcd revisions start at 1; "0" means "any" to a watch, so never hand it out.
  private rv = 1;
  private compactedRv = 0;
  private port = 0;
  private delayMs = 0;
  private failures: { remaining: number; status: number } = { remaining: 0, status: 500 };
  private goneRemaining = 0;
  private expireContinueRemaining = 0;

  private constructor(private readonly bookmarkIntervalMs: number) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(opts: { bookmarkIntervalMs?: number } = {}): Promise<FakeApiServer> {
    const fake = new FakeApiServer(opts.bookmarkIntervalMs ?? 1000);
    await fake.listen();
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.goOffline();
  }

  kubeconfigYaml(): string {
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "fake", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "fake", user: { token: "fake-token" } }],
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace: "default" } }],
      "current-context": "fake",
    });
  }

  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, "kubeconfig.yaml");
    await writeFile(path, this.kubeconfigYaml());
    return path;
  }

  apply(input: ApplyInput): StoredObject {
    const obj = JSON.parse(JSON.stringify(input)) as StoredObject;
    const resource = resourceOf(obj.kind, obj.apiVersion);
    const meta = obj.metadata;
    if (!meta?.name) throw new Error(`apply: ${resource.kind} without metadata.name`);
    if (resource.namespaced) meta.namespace ||= "default";
    else delete meta.namespace;
    const key = keyOf(resource.kind, meta.namespace, meta.name);
    const previous = this.objects.get(key);
    meta.uid = previous?.metadata.uid ?? meta.uid ?? randomUUID();
    // Kubernetes writes RFC 3339 timestamps in whole seconds.
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    meta.creationTimestamp = previous?.metadata.creationTimestamp ?? meta.creationTimestamp ?? now;
    meta.resourceVersion = String(++this.rv);
    if (previous === undefined) this.sortedKeys = undefined;
    this.objects.set(key, obj);
    this.record({ rv: this.rv, type: previous ? "MODIFIED" : "ADDED", object: obj, previous });
    return structuredClone(obj);
  }

  remove(kind: FakeKind, namespace: string, name: string): boolean {
    const resource = resourceOf(kind);
    const key = keyOf(kind, resource.namespaced ? namespace : undefined, name);
    const existing = this.objects.get(key);
    if (!existing) return false;
    this.objects.delete(key);
    this.sortedKeys = undefined;
    const object = withResourceVersion(existing, ++this.rv);
    this.record({ rv: this.rv, type: "DELETED", object });
    return true;
  }

  get(kind: FakeKind, namespace: string, name: string): StoredObject | undefined {
    const key = keyOf(kind, resourceOf(kind).namespaced ? namespace : undefined, name);
    const obj = this.objects.get(key);
    return obj && structuredClone(obj);
  }

  list(kind: FakeKind): StoredObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind).map((o) => structuredClone(o));
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  /** Cuts every open watch mid-stream: no terminating chunk, as when a connection or an apiserver dies. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.destroy();
  }

  /** Ends every open watch cleanly, as the apiserver does when a watch's timeout expires. */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
  }

  compact(): void {
    this.compactedRv = this.rv;
    this.log = [];
  }

  goneOnConnect(n: number): void {
    this.goneRemaining = n;
  }

  /** The next `n` list requests that carry a continue token get 410 Gone, as when etcd compacted past it. */
  expireContinueTokens(n: number): void {
    this.expireContinueRemaining = n;
  }

  failNext(n: number, status = 500): void {
    this.failures = { remaining: n, status };
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** Open watches stay connected but receive nothing more, not even bookmarks: a stalled stream. */
  silenceWatches(): void {
    for (const w of this.watchers) w.silenced = true;
  }

  async goOffline(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  async goOnline(): Promise<void> {
    if (!this.server.listening) await this.listen();
  }

  countRequests(
    filter: ((r: RecordedRequest) => boolean) | { method?: string; path?: string; watch?: boolean },
  ): number {
    const match =
      typeof filter === "function"
        ? filter
        : (r: RecordedRequest) =>
            (filter.method === undefined || r.method === filter.method) &&
            (filter.path === undefined || r.path === filter.path) &&
            (filter.watch === undefined || isWatch(r.query) === filter.watch);
    return this.requests.filter(match).length;
  }

  openWatchCount(): number {
    return this.watchers.size;
  }

  private async listen(): Promise<void> {
    this.server.listen(this.port, "127.0.0.1");
    await once(this.server, "listening");
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname, query, time: Date.now() });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (isClosed(res)) return;
    try {
      this.injectFault(isWatch(query));
      if (method !== "GET")
        throw new HttpError(405, `method ${method} is not supported by the fake apiserver`);
      const { resource, namespace, name } = route(url.pathname);
      if (name !== undefined) return this.sendObject(res, resource, keyOf(resource.kind, namespace, name));
      const target = { resource, matches: selectorPredicate(namespace, query), query };
      if (isWatch(query)) this.openWatch(res, target);
      else this.sendList(res, target);
    } catch (err) {
      const code = err instanceof HttpError ? err.code : 500;
      sendJson(res, code, statusBody(code, (err as Error).message));
    }
  }

  private injectFault(watch: boolean): void {
    if (this.failures.remaining > 0) {
      this.failures.remaining--;
      throw new HttpError(this.failures.status, "injected failure");
    }
    if (watch && this.goneRemaining > 0) {
      this.goneRemaining--;
      throw new HttpError(410, "injected 410 Gone on connect");
    }
  }

  private sendObject(res: ServerResponse, resource: ResourceType, key: string): void {
    const obj = this.objects.get(key);
    if (!obj) throw new HttpError(404, `${resource.plural} "${key.split("/")[2]}" not found`);
    sendJson(res, 200, obj);
  }

  // Continued pages come from current state, not a snapshot at the token's RV. Ordering by key, as etcd does, means
  // nothing is skipped or repeated, and a watch from the list RV replays whatever changed meanwhile.
  private sendList(res: ServerResponse, { resource, matches, query }: Target): void {
    const limit = Number(query.limit ?? 0);
    let listRv = this.rv;
    let start = "";
    if (query.continue) {
      ({ rv: listRv, start } = decodeContinue(query.continue));
      if (listRv < this.compactedRv || this.expireContinueRemaining > 0) {
        this.expireContinueRemaining = Math.max(0, this.expireContinueRemaining - 1);
        throw new HttpError(410, "The provided continue parameter is too old to display a consistent list.");
      }
    }
    this.sortedKeys ??= [...this.objects.keys()].sort();
    const all: StoredObject[] = [];
    for (let i = firstAfter(this.sortedKeys, start); i < this.sortedKeys.length; i++) {
      const o = this.objects.get(this.sortedKeys[i]!)!;
      if (o.kind === resource.kind && matches(o)) all.push(o);
    }
    const items = limit > 0 ? all.slice(0, limit) : all;
    const metadata: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (items.length < all.length) {
      const last = items[items.length - 1]!.metadata;
      metadata.continue = encodeContinue(listRv, keyOf(resource.kind, last.namespace, last.name));
      metadata.remainingItemCount = all.length - items.length;
    }
    // Like the real apiserver (kubernetes/kubernetes#3030), list items carry no apiVersion or kind; watch objects do.
    const bare = items.map(({ apiVersion, kind, ...rest }) => rest);
    sendJson(res, 200, {
      kind: `${resource.kind}List`,
      apiVersion: resource.apiVersion,
      metadata,
      items: bare,
    });
  }

  private openWatch(res: ServerResponse, target: Target): void {
    const { resource, matches, query } = target;
    const from = query.resourceVersion ?? "";
    const fromRv = Number(from);
    if (!Number.isInteger(fromRv) || fromRv < 0)
      throw new HttpError(400, `invalid resourceVersion "${from}"`);
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const watcher: Watcher = { ...target, res, silenced: false, timers: [] };
    if (fromRv === 0) {
      // "" and "0" mean "now": a real apiserver first sends the current state as synthetic ADDED events.
      for (const object of this.objects.values()) {
        if (object.kind === resource.kind && matches(object)) writeEvent(res, "ADDED", object);
      }
    } else if (fromRv < this.compactedRv) {
      // A current apiserver answers an expired RV inside the stream, not with an HTTP status.
      const message = `too old resource version: ${fromRv} (${this.compactedRv})`;
      writeEvent(res, "ERROR", statusBody(410, message));
      res.end();
      return;
    } else {
      for (const event of this.log) if (event.rv > fromRv) this.deliver(watcher, event);
    }
    this.watchers.add(watcher);
    if (query.allowWatchBookmarks === "true") {
      const bookmark = { kind: resource.kind, apiVersion: resource.apiVersion, metadata: {} };
      const sendBookmark = () => {
        if (watcher.silenced) return;
        bookmark.metadata = { resourceVersion: String(this.rv) };
        writeEvent(res, "BOOKMARK", bookmark);
      };
      watcher.timers.push(setInterval(sendBookmark, this.bookmarkIntervalMs).unref());
    }
    const timeoutSeconds = Number(query.timeoutSeconds ?? 0);
    if (timeoutSeconds > 0) watcher.timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000).unref());
    res.on("close", () => {
      for (const timer of watcher.timers) clearTimeout(timer);
      this.watchers.delete(watcher);
    });
  }

  private record(event: LoggedEvent): void {
    this.log.push(event);
    if (this.log.length >= 2 * HISTORY_LIMIT) {
      this.compactedRv = this.log[HISTORY_LIMIT - 1]!.rv;
      this.log = this.log.slice(HISTORY_LIMIT);
    }
    for (const watcher of this.watchers) this.deliver(watcher, event);
  }

  // A change that moves an object across a watch's selector arrives as ADDED or DELETED, as the apiserver's cacher
  // sends it; DELETED then carries the previous state at the new resourceVersion.
  private deliver(watcher: Watcher, event: LoggedEvent): void {
    if (watcher.silenced || event.object.kind !== watcher.resource.kind) return;
    const now = watcher.matches(event.object);
    const before = event.previous ? watcher.matches(event.previous) : now;
    if (!now && !before) return;
    if (now === before) writeEvent(watcher.res, event.type, event.object);
    else if (now) writeEvent(watcher.res, "ADDED", event.object);
    else writeEvent(watcher.res, "DELETED", withResourceVersion(event.previous!, event.rv));
  }
}

function route(path: string): { resource: ResourceType; namespace?: string; name?: string } {
  const m = ROUTE.exec(path);
  const apiVersion = m?.[1] === "api/v1" ? "v1" : m?.[1]?.slice("apis/".length);
  const resource = RESOURCE_TYPES.find((r) => r.plural === m?.[3] && r.apiVersion === apiVersion);
  if (!m || !resource || (m[2] !== undefined && !resource.namespaced)) {
    throw new HttpError(404, `the server could not find the requested resource (${path})`);
  }
  const namespace = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  return { resource, namespace, name: m[4] === undefined ? undefined : decodeURIComponent(m[4]) };
}

function resourceOf(kind: string | undefined, apiVersion?: string): ResourceType {
  const resource = RESOURCE_TYPES.find((r) => r.kind === kind);
  if (!resource || (apiVersion !== undefined && apiVersion !== resource.apiVersion)) {
    throw new Error(`fake apiserver does not serve ${apiVersion ?? "?"} ${kind ?? "?"}`);
  }
  return resource;
}

function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

function isWatch(query: Record<string, string>): boolean {
  return query.watch === "true" || query.watch === "1";
}

function withResourceVersion(obj: StoredObject, rv: number): StoredObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
}

function selectorPredicate(ns: string | undefined, query: Record<string, string>): Predicate {
  const checks: Predicate[] = [];
  if (ns !== undefined) checks.push((o) => o.metadata.namespace === ns);
  if (query.labelSelector) checks.push(...query.labelSelector.split(",").map(labelRequirement));
  if (query.fieldSelector) checks.push(...query.fieldSelector.split(",").map(fieldRequirement));
  return (o) => checks.every((check) => check(o));
}

// Equality-based requirements only (`k=v`, `k==v`, `k!=v`, `k`, `!k`); set-based ones are refused as unsupported.
function labelRequirement(term: string): Predicate {
  const t = term.trim();
  const m = /^(!?)([A-Za-z0-9_./-]+)(?:\s*(==|=|!=)\s*([A-Za-z0-9_.-]*))?$/.exec(t);
  if (!m) throw new HttpError(400, `unable to parse requirement: ${JSON.stringify(t)}`);
  const [, not, key = "", op, value] = m;
  if (not && op) throw new HttpError(400, `unable to parse requirement: ${JSON.stringify(t)}`);
  const label = (o: StoredObject) => o.metadata.labels?.[key];
  if (not) return (o) => label(o) === undefined;
  if (op === undefined) return (o) => label(o) !== undefined;
  // `!=` also matches objects without the label, as in Kubernetes.
  return op === "!=" ? (o) => label(o) !== value : (o) => label(o) === value;
}

function fieldRequirement(term: string): Predicate {
  const m = /^\s*(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
  if (!m) throw new HttpError(400, `field label not supported: ${JSON.stringify(term.split(/[=!]/)[0])}`);
  const [, field, op, value] = m;
  const read = (o: StoredObject) =>
    field === "metadata.name" ? o.metadata.name : (o.metadata.namespace ?? "");
  return op === "!=" ? (o) => read(o) !== value : (o) => read(o) === value;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const { rv, start } = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Number.isInteger(rv) && typeof start === "string") return { rv, start };
  } catch {}
  throw new HttpError(400, "continue key is not valid");
}

function isClosed(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded || !res.socket || res.socket.destroyed;
}

function writeEvent(res: ServerResponse, type: string, object: object): void {
  if (!isClosed(res)) res.write(`${JSON.stringify({ type, object })}\n`);
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  if (isClosed(res) || res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
