import { execFile } from "node:child_process";
import { promisify } from "node:util";
import DNS from "dns2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QClass, QType, Rcode } from "../../src/dns/constants.js";
import { startPodns, type TestServer } from "../support/podns.js";
import { buildQuery, readHeader, udpExchange } from "../support/raw-dns.js";

const run = promisify(execFile);

/** dns2 is used here as an independent decoder of the TXT answer. */
async function askChaos(server: TestServer, qname: string) {
  const query = buildQuery({ id: 0x4242, qname, qtype: QType.TXT, qclass: QClass.CH });
  const reply = await udpExchange(server.port, query);
  expect(reply).not.toBeNull();
  return { header: readHeader(reply!), packet: DNS.Packet.parse(reply!) };
}

describe("server identity in class CH (RFC 4892)", () => {
  let plain: TestServer;
  let named: TestServer;

  beforeAll(async () => {
    plain = await startPodns({ sources: ["zones/"], kube: { kind: "none" } });
    named = await startPodns({ sources: ["zones/"], kube: { kind: "none" }, identity: "podns-7f9c-a" });
  });

  afterAll(async () => {
    await plain?.stop();
    await named?.stop();
  });

  it.each(["version.bind", "id.server", "hostname.bind"])(
    "refuses %s when no identity is set",
    async (qname) => {
      const { header } = await askChaos(plain, qname);
      expect(header.rcode).toBe(Rcode.REFUSED);
      expect(header.an).toBe(0);
    },
  );

  it.each([
    { qname: "id.server", text: "podns-7f9c-a" },
    { qname: "hostname.bind", text: "podns-7f9c-a" },
    { qname: "version.bind", text: /^podns \d+\.\d+\.\d+/ },
  ])("answers $qname with a CH TXT record when --identity is set", async ({ qname, text }) => {
    const { header, packet } = await askChaos(named, qname);
    expect(header.rcode).toBe(Rcode.NOERROR);
    expect(packet.answers).toHaveLength(1);
    expect(packet.answers[0]!.class).toBe(QClass.CH);
    const data = packet.answers[0]!.data;
    expect(Array.isArray(data) ? data.join("") : data).toMatch(text);
  });

  it("splits an identity longer than 255 bytes into character-strings (RFC 1035 3.3) that dig reads whole", async () => {
    const long = await startPodns({ sources: ["zones/"], kube: { kind: "none" }, identity: "x".repeat(300) });
    try {
      const { stdout } = await run("dig", [
        "@127.0.0.1",
        "-p",
        String(long.port),
        "+time=2",
        "+tries=1",
        "-c",
        "CH",
        "-t",
        "TXT",
        "id.server",
      ]);
      expect(stdout).not.toMatch(/extra bytes|FORMERR|malformed/i);
      expect(stdout).toContain(`"${"x".repeat(255)}" "${"x".repeat(45)}"`);
    } finally {
      await long.stop();
    }
  });

  it("still refuses other CH names when an identity is set", async () => {
    const { header } = await askChaos(named, "authors.bind");
    expect(header.rcode).toBe(Rcode.REFUSED);
  });
});
