/**
 * The HTTP side: `/healthz` (the process answers), `/readyz` (the first complete sync is done), `/metrics`
 * (Prometheus text), `/debug/services` (JSON: what podns believes about each Service and its endpoints).
 * Read-only: nothing served here changes state.
 */
import http from "node:http";
import type { ServiceExplanation, ServiceFilter } from "../discovery/explain.js";
import type { ListenAddress } from "../server/listen.js";
import type { Metrics } from "./metrics.js";

export interface HttpDeps {
  readonly metrics: Metrics;
  readonly ready: () => boolean;
  readonly services: (filter: ServiceFilter) => ServiceExplanation[];
  /** Moves whenever served data changes; `/debug/services` bodies are reused until it does. */
  readonly version?: () => number;
}

export async function listenHttp(addr: ListenAddress, deps: HttpDeps): Promise<http.Server> {
  const rendered: Rendered = { version: -1, bodies: new Map() };
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
    // A request target that is not a valid URL path is simply not found.
    const [path, query = ""] = (req.url ?? "/").split("?", 2);
    switch (path) {
      case "/healthz":
        return send(res, 200, "ok\n");
      case "/readyz":
        return deps.ready()
          ? send(res, 200, "ready\n")
          : send(res, 503, "not ready: waiting for the first sync\n");
      case "/metrics":
        deps.metrics.registry.metrics().then(
          (text) => send(res, 200, text, deps.metrics.registry.contentType),
          () => send(res, 500, "metrics unavailable\n"),
        );
        return;
      case "/debug/services":
        if (req.method !== "GET") return send(res, 405, "method not allowed\n");
        return debugServices(res, deps, new URLSearchParams(query), rendered);
      default:
        return send(res, 404, "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(addr.port, addr.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

/** `?namespace=NS&name=SVC` narrows the list; naming a Service that is not held is 404. */
/**
 * Rendered bodies by query, for the current data version: the view costs tens of milliseconds on the event loop at
 * a thousand endpoints, so repeated calls (a dashboard, a loop of curl) must not repeat it between changes.
 */
interface Rendered {
  version: number;
  readonly bodies: Map<string, string>;
}
const MAX_RENDERED = 64;

function debugServices(
  res: http.ServerResponse,
  deps: HttpDeps,
  params: URLSearchParams,
  rendered: Rendered,
): void {
  const namespace = params.get("namespace") ?? undefined;
  const name = params.get("name") ?? undefined;
  const version = deps.version?.() ?? -1;
  const key = `${namespace ?? ""}/${name ?? ""}`;
  if (version !== rendered.version || rendered.bodies.size >= MAX_RENDERED) {
    rendered.version = version;
    rendered.bodies.clear();
  }
  const body = version >= 0 ? rendered.bodies.get(key) : undefined;
  if (body !== undefined) {
    send(res, 200, body, JSON_TYPE);
    return;
  }
  let services: ServiceExplanation[];
  try {
    services = deps.services({ namespace, name });
  } catch {
    // A bug in the debug view must cost one response, not the server.
    send(res, 500, `${JSON.stringify({ error: "services unavailable" })}\n`, JSON_TYPE);
    return;
  }
  if (name !== undefined && services.length === 0) {
    const which = namespace === undefined ? name : `${namespace}/${name}`;
    send(res, 404, `${JSON.stringify({ error: `no Service ${which}` })}\n`, JSON_TYPE);
    return;
  }
  const out = `${JSON.stringify({ services }, null, 2)}\n`;
  if (version >= 0) rendered.bodies.set(key, out);
  send(res, 200, out, JSON_TYPE);
}

const JSON_TYPE = "application/json; charset=utf-8";

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
