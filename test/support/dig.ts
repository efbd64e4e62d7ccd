/**
 * Runs `dig` (bind9-dnsutils) against a test server and parses its text output, so wire tests can compare what an
 * independent, widely used client decodes. Records come back as normalised presentation lines:
 * `name ttl class type rdata`, single spaces, letter case as received.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface DigResult {
  /** Status as dig names it: NOERROR, NXDOMAIN, FORMERR, BADVERS and so on. */
  readonly rcode: string;
  /** Header flags as dig lists them: qr, aa, tc, rd, ra, ad, cd. */
  readonly flags: string[];
  /** `name class type`, as the question section shows it. */
  readonly question: string;
  readonly answer: string[];
  readonly authority: string[];
  /** Records of the additional section, without the OPT pseudo-record. */
  readonly additional: string[];
  /** The OPT record, or null when the response had none. */
  readonly edns: { readonly version: number; readonly udp: number; readonly flags: string[] } | null;
  /** Bytes of the response dig finally used. */
  readonly msgSize: number;
  /** The response dig finally used came over TCP (asked with +tcp, or after a truncated UDP answer). */
  readonly tcp: boolean;
}

/**
 * `dig @127.0.0.1 -p PORT +time=2 +tries=1 ...args`, for example `dig(port, "SRV", "_http._tcp.web...", "+noedns")`.
 * @throws Error with dig's output when dig gets no answer or fails.
 */
export async function dig(port: number, ...args: string[]): Promise<DigResult> {
  const argv = ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args];
  let stdout: string;
  try {
    ({ stdout } = await run("dig", argv, { timeout: 10_000 }));
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? "";
    throw new Error(`dig ${argv.join(" ")} failed: ${(err as Error).message}\n${out}`);
  }
  return parseDig(stdout);
}

const SECTIONS = { QUESTION: "question", ANSWER: "answer", AUTHORITY: "authority", ADDITIONAL: "additional" };

export function parseDig(text: string): DigResult {
  const sections: Record<string, string[]> = { question: [], answer: [], authority: [], additional: [] };
  let rcode: string | undefined;
  let flags: string[] = [];
  let edns: DigResult["edns"] = null;
  let msgSize = -1;
  let tcp = false;
  let section: string | undefined;
  for (const line of text.split("\n")) {
    const header = /^;; ->>HEADER<<- opcode: \S+, status: (\S+), id: \d+$/.exec(line);
    const flagLine = /^;; flags:([^;]*);/.exec(line);
    const opt = /^; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)/.exec(line);
    const sectionStart = /^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/.exec(line);
    const size = /^;; MSG SIZE {2}rcvd: (\d+)$/.exec(line);
    const server = /^;; SERVER: .* \((UDP|TCP)\)$/.exec(line);
    if (header) rcode = header[1];
    else if (flagLine) flags = words(flagLine[1]!);
    else if (opt) edns = { version: Number(opt[1]), flags: words(opt[2]!), udp: Number(opt[3]) };
    else if (sectionStart) section = SECTIONS[sectionStart[1] as keyof typeof SECTIONS];
    else if (size) msgSize = Number(size[1]);
    else if (server) tcp = server[1] === "TCP";
    else if (line.trim() === "") section = undefined;
    else if (section === "question") sections["question"]!.push(normalise(line.replace(/^;/, "")));
    else if (section !== undefined && !line.startsWith(";")) sections[section]!.push(normalise(line));
  }
  if (rcode === undefined || msgSize < 0) throw new Error(`dig printed no answer:\n${text}`);
  return {
    rcode,
    flags,
    question: sections["question"]![0] ?? "",
    answer: sections["answer"]!,
    authority: sections["authority"]!,
    additional: sections["additional"]!,
    edns,
    msgSize,
    tcp,
  };
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== "");
}

/** Collapses whitespace to single spaces outside double-quoted strings. */
function normalise(line: string): string {
  const tokens = line.trim().match(/"(?:[^"\\]|\\.)*"|[^\s"]+/g) ?? [];
  return tokens.join(" ");
}
