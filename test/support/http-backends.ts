/**
 * Tiny HTTP servers standing in for pods: each listens on its own loopback address and answers every request with
 * its name, so a test can count where a load balancer sent each request. And a load generator that counts them.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface BackendSpec {
  /** What the backend answers with, e.g. the pod name. */
  readonly name: string;
  /** A loopback address such as 127.0.0.11. */
  readonly address: string;
}

export interface HttpBackends {
  /** The port every backend listens on (one per address). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts one server per spec, all on the same port (an ephemeral one that is free on every address, so that runs
 * in parallel do not collide).
 */
export async function startHttpBackends(specs: readonly BackendSpec[]): Promise<HttpBackends> {
  for (let attempt = 0; ; attempt++) {
    const servers: http.Server[] = [];
    try {
      let port = 0;
      for (const spec of specs) {
        const server = http.createServer((_req, res) => {
          res.writeHead(200, { "content-type": "text/plain" }).end(spec.name);
        });
        servers.push(server);
        await listen(server, spec.address, port);
        port = (server.address() as AddressInfo).port;
      }
      return { port, close: () => closeAll(servers) };
    } catch (err) {
      await closeAll(servers);
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 5) throw err;
    }
  }
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function closeAll(servers: readonly http.Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (!s.listening) return resolve();
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
}

export interface LoadOptions {
  readonly requests: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Per request, milliseconds. */
  readonly timeoutMs: number;
}

/**
 * Sends `requests` GETs to `url` over keep-alive connections, at most `concurrency` at a time, and counts the
 * answers by body. Non-200 answers count as `HTTP <status>` and failed requests as `error: <message>`, so that the
 * caller's assertion shows them.
 */
export async function countResponses(url: string, opts: LoadOptions): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < opts.requests) {
      next++;
      const key = await get(url, agent, opts.timeoutMs).catch((err: Error) => `error: ${err.message}`);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return counts;
}

function get(url: string, agent: http.Agent, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : `HTTP ${res.statusCode}`));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
