/**
 * The HTTP side: `/healthz` (the process answers), `/readyz` (the first complete sync is done), `/metrics`
 * (Prometheus text). Read-only: nothing served here changes state.
 */
import http from "node:http";
import type { ListenAddress } from "../server/listen.js";
import type { Metrics } from "./metrics.js";

export interface HttpDeps {
  readonly metrics: Metrics;
  readonly ready: () => boolean;
}

export async function listenHttp(addr: ListenAddress, deps: HttpDeps): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "method not allowed\n");
    // Only the path matters; a request target that is not a valid URL path is simply not found.
    const path = (req.url ?? "/").split("?")[0];
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

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
