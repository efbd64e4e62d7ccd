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
}

export async function listenHttp(addr: ListenAddress, deps: HttpDeps): Promise<http.Server> {
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
        return debugServices(res, deps, new URLSearchParams(query));
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
function debugServices(res: http.ServerResponse, deps: HttpDeps, params: URLSearchParams): void {
  const namespace = params.get("namespace") ?? undefined;
  const name = params.get("name") ?? undefined;
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
  send(res, 200, `${JSON.stringify({ services }, null, 2)}\n`, JSON_TYPE);
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
