/** The benchmark's command line: cluster size, presets, and which parts to run or shorten. */
import { parseArgs } from "node:util";

export interface ClusterSize {
  readonly services: number;
  readonly endpoints: number;
}

export interface BenchOptions {
  /** The cluster served by podns and NSD side by side. */
  readonly cluster: ClusterSize;
  readonly preset: string;
  readonly quick: boolean;
  /** Seconds per dnsperf step of the zero-loss search. */
  readonly stepSeconds: number;
  /** Bisection steps after the unthrottled run. */
  readonly searchSteps: number;
  /** Seconds of the fixed-rate latency run. */
  readonly latencySeconds: number;
  /** EndpointSlice changes per propagation measurement. */
  readonly changes: number;
  /** Clusters started only to time sync and changes and to read memory. */
  readonly scale: readonly ClusterSize[];
  /** The Markdown file the results are appended to; undefined with --no-write. */
  readonly output: string | undefined;
  readonly keepTemp: boolean;
}

const PRESETS: Record<string, ClusterSize> = {
  default: { services: 1_000, endpoints: 10 },
  "many-services": { services: 10_000, endpoints: 10 },
  "many-endpoints": { services: 100, endpoints: 1_000 },
};

export const USAGE = `usage: npm run bench -- [options]

  --preset NAME       default (1,000 Services x 10 endpoints), many-services (10,000 x 10),
                      many-endpoints (100 x 1,000)
  --services N        Services in the side-by-side cluster (overrides the preset)
  --endpoints M       ready endpoints per Service (overrides the preset)
  --quick             a smoke run: short steps, 50 changes, scale runs at 100 and 1,000 Services only
  --skip-memory       skip the 1,000 x 100 memory run
  --step-seconds S    seconds per step of the zero-loss search (default 5, quick 2)
  --changes N         EndpointSlice changes per propagation run (default 200, quick 50)
  --output FILE       append the results to FILE (default BENCHMARKS.md)
  --no-write          print the results only
  --keep-temp         keep the temporary folder (zone files, nsd.conf, the query file)
  --help`;

export function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      preset: { type: "string", default: "default" },
      services: { type: "string" },
      endpoints: { type: "string" },
      quick: { type: "boolean", default: false },
      "skip-memory": { type: "boolean", default: false },
      "step-seconds": { type: "string" },
      changes: { type: "string" },
      output: { type: "string", default: "BENCHMARKS.md" },
      "no-write": { type: "boolean", default: false },
      "keep-temp": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const preset = PRESETS[values.preset];
  if (preset === undefined) throw new Error(`unknown preset "${values.preset}"\n${USAGE}`);
  const quick = values.quick;
  const cluster = {
    services: positive("--services", values.services, preset.services),
    endpoints: positive("--endpoints", values.endpoints, preset.endpoints),
  };
  const scale: ClusterSize[] = quick
    ? [
        { services: 100, endpoints: 10 },
        { services: 1_000, endpoints: 10 },
      ]
    : [
        { services: 100, endpoints: 10 },
        { services: 10_000, endpoints: 10 },
      ];
  if (!quick && !values["skip-memory"]) scale.push({ services: 1_000, endpoints: 100 });
  return {
    cluster,
    preset: values.services || values.endpoints ? "custom" : values.preset,
    quick,
    stepSeconds: positive("--step-seconds", values["step-seconds"], quick ? 2 : 5),
    searchSteps: quick ? 3 : 6,
    latencySeconds: quick ? 3 : 10,
    changes: positive("--changes", values.changes, quick ? 50 : 200),
    scale,
    output: values["no-write"] ? undefined : values.output,
    keepTemp: values["keep-temp"],
  };
}

/** A positive integer option, or `fallback` when not given. @throws Error naming the flag otherwise. */
export function positive(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: "${text}" is not a positive integer`);
  return n;
}
