/**
 * The `podns` command. Exit status: 0 on success, 2 for a bad flag, a bad value or a source file that does not
 * parse (with file and line), 1 for anything unexpected.
 */
import { Command, CommanderError, Option } from "commander";
import { StartupError } from "../config/errors.js";
import { dataOptions, type RawServeOptions, serveOptions, toServeConfig } from "../config/serve-config.js";
import { VERSION } from "../version.js";
import { checkZone } from "./check-zone.js";
import { exportZones } from "./export-zone.js";
import { QueryError, query } from "./query.js";
import { serve } from "./serve.js";

export function program(): Command {
  const root = new Command("podns")
    .description("Authoritative DNS for Kubernetes Services and pods, with per-pod records and weights")
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError(false);
  serveOptions(
    root
      .command("serve")
      .description("serve DNS from a Kubernetes watch and/or manifest and zone files")
      .exitOverride(),
  ).action(async (opts) => {
    await serve(toServeConfig(opts));
  });
  dataOptions(
    root
      .command("export-zone")
      .description("write the served zones as RFC 1035 master files, after the first complete sync")
      .option("-o, --output <dir>", "write <zone>.zone files into this folder instead of standard output")
      .option("--sync-timeout <seconds>", "give up when the first sync takes longer", "60")
      .exitOverride(),
  ).action(async (opts: RawServeOptions & { output?: string; syncTimeout: string }) => {
    const config = toServeConfig({ ...opts, logLevel: opts.logLevel === "info" ? "warn" : opts.logLevel });
    await exportZones(config, { output: opts.output, timeout: Number(opts.syncTimeout) });
  });
  root
    .command("query")
    .description("ask a podns server like dig; prints each endpoint's weight, priority and share of traffic")
    .argument("<name>", "a name, or an IP address for its PTR record")
    .argument("[type]", "A, AAAA, SRV, PTR, TXT, CNAME, SOA, NS (default A, or PTR for an address)")
    .addOption(
      new Option("--server <host:port>", "the podns to ask").env("PODNS_SERVER").default("127.0.0.1:5353"),
    )
    .option("--timeout <seconds>", "how long to wait for an answer", "3")
    .exitOverride()
    .action(async (name: string, type: string | undefined, opts: { server: string; timeout: string }) => {
      process.exitCode = await query(name, type, { server: opts.server, timeout: Number(opts.timeout) });
    });
  root
    .command("check-zone")
    .description("validate RFC 1035 zone files; exit 2 with file and line on the first problem")
    .argument("<file...>", "zone files")
    .option("--ttl <seconds>", "TTL for records before any $TTL", "5")
    .exitOverride()
    .action((files: string[], opts: { ttl: string }) => {
      checkZone(files, Number(opts.ttl));
    });
  return root;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    // Exit now: a failed start may leave a file watcher or a socket that would keep the process alive.
    process.exit(exitCodeOf(err));
  }
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed its one-line reason already; help and version exit 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof StartupError || err instanceof QueryError) {
    process.stderr.write(`podns: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`podns: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
