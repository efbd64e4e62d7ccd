/**
 * Reads a Dockerfile into stages of instructions: continuation lines joined, comments and parser directives left out.
 * Enough to check what each stage runs and copies, without a container engine.
 */

export interface Instruction {
  /** Upper case: `FROM`, `COPY`, `RUN`, ... */
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export function stages(dockerfile: string): Stage[] {
  const result: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const { keyword, args } of instructions(dockerfile)) {
    if (keyword === "FROM") {
      const [image = "", as, name] = args.split(/\s+/).filter((w) => !w.startsWith("--"));
      result.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      const stage = result.at(-1);
      if (stage === undefined) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return result;
}

function instructions(dockerfile: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of dockerfile.split("\n")) {
    if (/^\s*#/.test(line)) continue;
    const continued = /\\\s*$/.test(line);
    pending += continued ? line.replace(/\\\s*$/, " ") : line;
    if (!continued) {
      if (pending.trim() !== "") logical.push(pending.trim());
      pending = "";
    }
  }
  return logical.map((line) => {
    const [keyword = "", ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
  });
}

/** The words of an exec-form (`["node", "bin/podns.js"]`) or shell-form argument. */
export function words(args: string): string[] {
  return args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

/** A COPY's sources and destination, with its `--from` stage if any. */
export function copyOf(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const parts = args.split(/\s+/);
  const from = parts.find((p) => p.startsWith("--from="))?.slice("--from=".length);
  const paths = parts.filter((p) => !p.startsWith("--"));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
}
