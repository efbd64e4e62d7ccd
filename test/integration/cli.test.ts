import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QType } from "../../src/dns/constants.js";
import { freePort } from "../support/podns.js";
import { buildQuery, udpExchange } from "../support/raw-dns.js";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/podns.js");

/** Waits until `child` prints a line containing `text` on stdout. */
function waitForOutput(child: ChildProcess, text: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms; output: ${seen}`)), ms);
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${text}"; output: ${seen}`));
    });
  });
}

async function podnsExit(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, ...args], { timeout: 15_000 });
    return { code: 0, stderr: "" };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("npm start (podns on its embedded default)", () => {
  let child: ChildProcess;
  let port: number;
  let httpPort: number;

  beforeAll(async () => {
    port = await freePort();
    httpPort = await freePort();
    // The README's exact command; the listen addresses come from the flags' environment twins.
    child = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, PODNS_LISTEN: `127.0.0.1:${port}`, PODNS_HTTP_LISTEN: `127.0.0.1:${httpPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    await waitForOutput(child, "podns serving");
  }, 90_000);

  afterAll(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL");
  });

  it("answers the README's SRV query with per-pod weights and the targets' addresses", async () => {
    const { stdout } = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+time=2",
      "+tries=1",
      "SRV",
      "_http._tcp.web.demo.svc.cluster.local",
    ]);
    expect(stdout).toContain("status: NOERROR");
    expect(stdout).toMatch(/IN\s+SRV\s+0 65535 8080 10-244-1-10\.web\.demo\.svc\.cluster\.local\./);
    expect(stdout).toMatch(/IN\s+SRV\s+0 32768 8080 10-244-1-11\.web\.demo\.svc\.cluster\.local\./);
    expect(stdout).toMatch(
      /ADDITIONAL SECTION:\n10-244-1-10\.web\.demo\.svc\.cluster\.local\.\s+5\s+IN\s+A\s+10\.244\.1\.10/,
    );
  });

  it("reports healthy and ready, and counts the query in /metrics", async () => {
    const base = `http://127.0.0.1:${httpPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/podns_dns_requests_total\{qtype="SRV",rcode="NOERROR",transport="udp"\} [1-9]/);
  });
});

describe("podns serve start-up and shutdown", () => {
  it("exits 0 within 5 seconds of SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--source", "zones/", "--listen", `127.0.0.1:${port}`, "--http-listen", "127.0.0.1:0"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    await waitForOutput(child, "podns serving");
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("exits 0 on SIGTERM even when its log reader has gone away", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--source", "zones/", "--listen", `127.0.0.1:${port}`, "--http-listen", "127.0.0.1:0"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] },
    );
    await waitForOutput(child, "podns serving");
    // Close the reading end, as `podns serve | head -1` does once head has its line.
    child.stdout?.destroy();
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("still running"), 6_000)),
    ]);
    if (code === "still running") child.kill("SIGKILL");
    expect(code).toBe(0);
  });

  it("keeps answering with query logging on while nobody reads its stdout", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--source",
        "zones/",
        "--listen",
        `127.0.0.1:${port}`,
        "--http-listen",
        "127.0.0.1:0",
        "--query-log-sample",
        "1",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] },
    );
    try {
      await waitForOutput(child, "podns serving");
      // From here on nothing reads the pipe: 1,000 log lines of about 200 bytes overflow its 64 KiB several times.
      child.stdout?.pause();
      let answered = 0;
      for (let i = 0; i < 1000; i++) {
        const reply = await udpExchange(
          port,
          buildQuery({ id: i, qname: "web.demo.svc.cluster.local", qtype: QType.A }),
          1000,
        );
        if (reply !== null) answered++;
      }
      expect(answered).toBe(1000);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("exits 2 naming the address when the DNS port is taken", async () => {
    const port = await freePort();
    const holder = net.createServer().listen(port, "127.0.0.1");
    await new Promise((r) => holder.once("listening", r));
    try {
      const { code, stderr } = await podnsExit([
        "serve",
        "--source",
        "zones/",
        "--listen",
        `127.0.0.1:${port}`,
        "--http-listen",
        "127.0.0.1:0",
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      holder.close();
    }
  });

  it("exits 2 with advice when no cluster is configured and no source is given", async () => {
    const home = mkdtempSync(path.join(tmpdir(), "podns-home-"));
    try {
      await run(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"], {
        timeout: 15_000,
        env: { ...process.env, HOME: home, KUBECONFIG: "" },
      });
      expect.unreachable("podns should have exited 2");
    } catch (err) {
      const e = err as { code: number; stderr: string };
      expect(e.code).toBe(2);
      expect(e.stderr).toMatch(/no kubeconfig at .*: pass --kubeconfig FILE, --in-cluster, or --source PATH/);
    }
  });

  it.each([
    { args: ["serve", "--bogus"], reason: /unknown option '--bogus'/ },
    {
      args: ["serve", "--kubeconfig", "/no/such/kubeconfig"],
      reason: /ENOENT.*\/no\/such\/kubeconfig.*: check the file given to --kubeconfig/,
    },
    { args: ["serve", "--ttl", "soon"], reason: /--ttl.*soon.*invalid/ },
    { args: ["serve", "--cluster-ip", "maybe"], reason: /--cluster-ip.*maybe/ },
    { args: ["serve", "--listen", "localhost"], reason: /--listen: "localhost" is not HOST:PORT/ },
    { args: ["serve", "--zone", "a..b"], reason: /--zone "a\.\.b"/ },
    { args: ["serve", "--source", "no/such/folder"], reason: /no such file or folder: no\/such\/folder/ },
  ])("exits 2 with a one-line reason for $args", async ({ args, reason }) => {
    const { code, stderr } = await podnsExit(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    {
      file: "bad.zone",
      text: "$ORIGIN bad.example.\n$TTL 5\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN A 10.0.0.300\n",
      line: 4,
    },
    {
      file: "bad.yaml",
      text: "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: api\n",
      line: 5,
    },
  ])("exits 2 naming $file and line $line when a source does not parse", async ({ file, text, line }) => {
    const dir = mkdtempSync(path.join(tmpdir(), "podns-bad-"));
    writeFileSync(path.join(dir, file), text);
    const { code, stderr } = await podnsExit([
      "serve",
      "--source",
      dir,
      "--listen",
      "127.0.0.1:0",
      "--http-listen",
      "127.0.0.1:0",
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${path.join(dir, file)}:${line}:`);
  });

  it("takes the answer flags from the command line: one address, always the same, with --max-answers 1 --shuffle off", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--source",
        "zones/",
        "--listen",
        `127.0.0.1:${port}`,
        "--http-listen",
        "127.0.0.1:0",
        "--max-answers",
        "1",
        "--shuffle",
        "off",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] },
    );
    try {
      await waitForOutput(child, "podns serving");
      const answers = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const { stdout } = await run("dig", [
          "@127.0.0.1",
          "-p",
          String(port),
          "+short",
          "+time=2",
          "+tries=1",
          "web.demo.svc.cluster.local",
        ]);
        expect(stdout.trim().split("\n")).toHaveLength(1);
        answers.add(stdout.trim());
      }
      expect(answers.size).toBe(1);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("documents every serve flag in --help", async () => {
    const { stdout } = await run(process.execPath, [BIN, "serve", "--help"]);
    for (const flag of [
      "--kubeconfig",
      "--in-cluster",
      "--source",
      "--zone",
      "--listen",
      "--http-listen",
      "--ttl",
      "--cluster-ip",
      "--log-level",
      "--log-format",
      "--namespace",
      "--slow-start",
      "--prefer-same-zone",
      "--shuffle",
      "--max-answers",
      "--identity",
      "--rate-limit",
      "--query-log-sample",
      "--tcp-idle-timeout",
      "--tcp-max-connections",
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain("PODNS_LISTEN");
  });
});
