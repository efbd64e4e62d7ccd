/**
 * The cluster add-on in deploy/ and the image in Dockerfile: rendered with `kubectl kustomize`, every document checked
 * against the Kubernetes schemas, then the properties operators rely on (least privilege, hardening, probes, ports,
 * the CoreDNS stub domain) asserted one by one.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { IService } from "kubernetes-models/v1/Service";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { type ServeConfig, serveOptions, toServeConfig } from "../../src/config/serve-config.js";
import { serverBlocks, zoneOfKey } from "./corefile.js";
import { copyOf, stages, words } from "./dockerfile.js";
import { kustomize, type Manifest, only, validated } from "./kustomize.js";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const NAMESPACE = "podns";

let base: Manifest[];
let overlay: Manifest[];

function podnsContainer(deployment: IDeployment): IContainer {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  expect(containers.map((c) => c.name)).toEqual(["podns"]);
  return containers[0] as IContainer;
}

/** The container port a Service or probe names, by number or by name. */
function containerPort(container: IContainer, port: number | string | undefined, protocol = "TCP"): number {
  const match = (container.ports ?? []).find(
    (p) => (p.protocol ?? "TCP") === protocol && (p.containerPort === port || p.name === port),
  );
  if (match === undefined) throw new Error(`the container has no ${protocol} port ${port}`);
  return match.containerPort;
}

/** Parses the container's args with podns's own flag parser, its environment taken from `env` alone. */
function parseServe(args: readonly string[], env: Readonly<Record<string, string>>) {
  const cmd = serveOptions(new Command("serve").exitOverride().configureOutput({ writeErr: () => {} }));
  const flagOfEnv = new Map(
    cmd.options.flatMap((o) => (o.envVar ? [[o.envVar, o.long ?? ""] as const] : [])),
  );
  let config: ServeConfig | undefined;
  cmd.action((opts) => {
    config = toServeConfig(opts, true);
  });
  for (const name of flagOfEnv.keys()) vi.stubEnv(name, env[name]);
  try {
    expect(args[0]).toBe("serve");
    cmd.parse(args.slice(1), { from: "user" });
  } finally {
    vi.unstubAllEnvs();
  }
  if (config === undefined) throw new Error("podns serve did not accept the container's args");
  return { config, flagOfEnv };
}

describe("deploy/", () => {
  beforeAll(async () => {
    [base, overlay] = await Promise.all([
      kustomize(fileURLToPath(new URL("deploy", root))),
      kustomize(fileURLToPath(new URL("deploy/overlays/coredns-stub", root))),
    ]);
  });

  test("renders documents that all pass the Kubernetes schema", () => {
    for (const [i, m] of [...base, ...overlay].entries())
      expect(() => validated(m, `document ${i}`)).not.toThrow();
  });

  test("has its schema check reject a wrongly typed field and an unknown kind", () => {
    const deployment = only<Manifest>(base, "Deployment");
    const broken = { ...deployment, spec: { ...(deployment["spec"] as object), replicas: "two" } };
    expect(() => validated(broken, "test")).toThrow(/replicas must be integer/);
    expect(() => validated({ ...deployment, kind: "DaemonSet" }, "test")).toThrow(/no schema/);
  });

  describe("the base", () => {
    test("renders exactly the namespace, identity, RBAC, configuration, workload, service and policies", () => {
      expect(base.map((m) => m.kind).sort()).toEqual([
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
      ]);
      for (const m of base) {
        if (!m.kind.startsWith("Cluster") && m.kind !== "Namespace")
          expect(m.metadata.namespace).toBe(NAMESPACE);
      }
    });

    test("puts podns in its own namespace under the restricted Pod Security Standard", () => {
      const ns = only<INamespace>(base, "Namespace");
      expect(ns.metadata?.name).toBe(NAMESPACE);
      expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    });

    test("grants exactly get, list and watch on services, pods, nodes and endpointslices", () => {
      const role = only<IClusterRole>(base, "ClusterRole");
      const grants = (role.rules ?? []).flatMap((rule) => {
        expect(rule.resourceNames ?? []).toEqual([]);
        expect(rule.nonResourceURLs ?? []).toEqual([]);
        return (rule.apiGroups ?? []).flatMap((group) =>
          (rule.resources ?? []).flatMap((resource) =>
            rule.verbs.map((verb) => `${group}/${resource}:${verb}`),
          ),
        );
      });
      const expected = ["/services", "/pods", "/nodes", "discovery.k8s.io/endpointslices"].flatMap((r) =>
        ["get", "list", "watch"].map((verb) => `${r}:${verb}`),
      );
      expect(grants.sort()).toEqual(expected.sort());
      expect(role.aggregationRule).toBeUndefined();
    });

    test("binds the ClusterRole to the service account the Deployment runs as", () => {
      const role = only<IClusterRole>(base, "ClusterRole");
      const binding = only<IClusterRoleBinding>(base, "ClusterRoleBinding");
      const pod = only<IDeployment>(base, "Deployment").spec?.template.spec;
      const account = only<Manifest>(base, "ServiceAccount");
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: role.metadata?.name,
      });
      expect(binding.subjects).toEqual([
        { kind: "ServiceAccount", name: account.metadata.name, namespace: NAMESPACE },
      ]);
      expect(pod?.serviceAccountName).toBe(account.metadata.name);
      // --in-cluster reads the service account token.
      expect(pod?.automountServiceAccountToken).not.toBe(false);
      expect(account["automountServiceAccountToken"]).not.toBe(false);
    });

    test("runs two replicas spread across nodes and zones", () => {
      const deployment = only<IDeployment>(base, "Deployment");
      const pod = deployment.spec?.template;
      expect(deployment.spec?.replicas).toBe(2);
      const spread = pod?.spec?.topologySpreadConstraints ?? [];
      expect(spread.map((c) => c.topologyKey).sort()).toEqual([
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
      ]);
      for (const c of spread) {
        expect(c.maxSkew).toBe(1);
        expect(pod?.metadata?.labels).toMatchObject(c.labelSelector?.matchLabels ?? { selects: "nothing" });
      }
      expect(deployment.spec?.selector.matchLabels).toEqual(pod?.metadata?.labels);
    });

    test("keeps one replica through voluntary disruptions", () => {
      const pdb = only<IPodDisruptionBudget>(base, "PodDisruptionBudget");
      const labels = only<IDeployment>(base, "Deployment").spec?.template.metadata?.labels;
      expect(pdb.spec?.minAvailable).toBe(1);
      expect(pdb.spec?.maxUnavailable).toBeUndefined();
      expect(labels).toMatchObject(pdb.spec?.selector?.matchLabels ?? { selects: "nothing" });
    });

    test("runs podns as user 10001, without privileges, on a read-only root filesystem", () => {
      const pod = only<IDeployment>(base, "Deployment").spec?.template.spec;
      const container = podnsContainer(only<IDeployment>(base, "Deployment"));
      const own = container.securityContext;
      expect(own).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(own?.capabilities?.add ?? []).toEqual([]);
      expect(own?.privileged ?? false).toBe(false);
      // The pod's profile covers every container; a container's own would override it.
      expect(pod?.securityContext?.seccompProfile).toEqual({ type: "RuntimeDefault" });
      expect(own?.seccompProfile ?? { type: "RuntimeDefault" }).toEqual({ type: "RuntimeDefault" });
      expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(pod?.hostNetwork ?? false).toBe(false);
      // system-cluster-critical and system-node-critical are admitted only in kube-system.
      expect(pod?.priorityClassName ?? "").not.toMatch(/^system-/);
    });

    test("probes readiness on /readyz and liveness on /healthz of the HTTP port", () => {
      const container = podnsContainer(only<IDeployment>(base, "Deployment"));
      const { readinessProbe, livenessProbe } = container;
      expect(readinessProbe?.httpGet?.path).toBe("/readyz");
      expect(livenessProbe?.httpGet?.path).toBe("/healthz");
      expect(containerPort(container, readinessProbe?.httpGet?.port)).toBe(9153);
      expect(containerPort(container, livenessProbe?.httpGet?.port)).toBe(9153);
    });

    test("requests 100m CPU and 256Mi of memory, and limits memory to 1Gi with no CPU limit", () => {
      const { resources } = podnsContainer(only<IDeployment>(base, "Deployment"));
      expect(resources?.requests).toEqual({ cpu: "100m", memory: "256Mi" });
      expect(resources?.limits).toEqual({ memory: "1Gi" });
    });

    test("listens for DNS on 5353 over UDP and TCP and for HTTP on 9153", () => {
      const container = podnsContainer(only<IDeployment>(base, "Deployment"));
      const ports = (container.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? "TCP"}`);
      expect(ports.sort()).toEqual(["5353/TCP", "5353/UDP", "9153/TCP"]);
    });

    test("runs the image of this package's version", () => {
      const { version } = JSON.parse(read("package.json")) as { version: string };
      expect(podnsContainer(only<IDeployment>(base, "Deployment")).image).toBe(`podns:${version}`);
    });

    test("configures podns through a ConfigMap that podns's own flag parser accepts", () => {
      const deployment = only<IDeployment>(base, "Deployment");
      const container = podnsContainer(deployment);
      const configMap = only<IConfigMap>(base, "ConfigMap", "podns-config");
      expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata?.name } }]);
      const env = configMap.data ?? {};
      const { config, flagOfEnv } = parseServe(container.args ?? [], env);
      for (const key of Object.keys(env)) {
        expect(flagOfEnv.has(key), `${key} is not a podns variable`).toBe(true);
        // A flag on the command line wins over its variable, which would then be ignored without a word.
        expect(container.args, `${key} is overridden by the args`).not.toContain(flagOfEnv.get(key));
      }
      expect(config.kube).toEqual({ kind: "in-cluster" });
      expect(config.zones).toEqual([`${env["PODNS_ZONE"]}.`]);
      expect(config.listen).toEqual([{ host: "0.0.0.0", port: containerPort(container, "dns", "UDP") }]);
      expect(config.listen).toEqual([{ host: "0.0.0.0", port: containerPort(container, "dns-tcp", "TCP") }]);
      expect(config.httpListen).toEqual({ host: "0.0.0.0", port: containerPort(container, "metrics") });
    });

    test("serves DNS on port 53 over UDP and TCP and metrics on 9153 through a ClusterIP Service", () => {
      const service = only<IService>(base, "Service");
      const container = podnsContainer(only<IDeployment>(base, "Deployment"));
      expect(service.spec?.type ?? "ClusterIP").toBe("ClusterIP");
      const ports = (service.spec?.ports ?? []).map((p) => ({
        name: p.name,
        protocol: p.protocol ?? "TCP",
        port: p.port,
        target: containerPort(container, p.targetPort ?? p.port, p.protocol),
      }));
      expect(ports).toEqual([
        { name: "dns", protocol: "UDP", port: 53, target: 5353 },
        { name: "dns-tcp", protocol: "TCP", port: 53, target: 5353 },
        { name: "metrics", protocol: "TCP", port: 9153, target: 9153 },
      ]);
      const labels = only<IDeployment>(base, "Deployment").spec?.template.metadata?.labels;
      expect(labels).toMatchObject(service.spec?.selector ?? { selects: "nothing" });
    });

    test("admits DNS and scraping from every namespace, and lets podns reach only the API server and DNS", () => {
      const policy = only<INetworkPolicy>(base, "NetworkPolicy");
      const labels = only<IDeployment>(base, "Deployment").spec?.template.metadata?.labels;
      expect(labels).toMatchObject(policy.spec?.podSelector.matchLabels ?? { selects: "nothing" });
      expect(policy.spec?.policyTypes?.sort()).toEqual(["Egress", "Ingress"]);
      const fromEveryNamespace = (policy.spec?.ingress ?? [])
        .filter((rule) => rule.from?.some((peer) => JSON.stringify(peer) === '{"namespaceSelector":{}}'))
        .flatMap((rule) => (rule.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`));
      expect(fromEveryNamespace.sort()).toEqual(["5353/TCP", "5353/UDP", "9153/TCP"]);
      const egress = (policy.spec?.egress ?? []).flatMap((rule) => {
        // A rule without ports would open every port to its peers.
        expect(rule.ports ?? []).not.toEqual([]);
        return (rule.ports ?? []).map((p) => `${p.port}/${p.protocol ?? "TCP"}`);
      });
      expect(egress.sort()).toEqual(["443/TCP", "53/TCP", "53/UDP", "6443/TCP"]);
    });
  });

  describe("the CoreDNS overlay in overlays/coredns-stub", () => {
    test("installs everything the base does", () => {
      const key = (m: Manifest) =>
        `${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name.replace(/-\w{10}$/, "")}`;
      const rendered = new Set(overlay.map(key));
      for (const m of base) expect(rendered, key(m)).toContain(key(m));
    });

    test("forwards the podns zone to the podns Service's cluster IP and keeps the stock server block", () => {
      const zone = `${only<IConfigMap>(overlay, "ConfigMap", "podns-config").data?.["PODNS_ZONE"]}.`;
      const service = only<IService>(overlay, "Service");
      const coredns = only<IConfigMap>(overlay, "ConfigMap", "coredns");
      expect(coredns.metadata).toMatchObject({ name: "coredns", namespace: "kube-system" });
      const blocks = serverBlocks(coredns.data?.["Corefile"] ?? "");

      const stub = blocks.filter((b) => b.keys.some((k) => zoneOfKey(k).zone === zone));
      expect(stub, `a server block for ${zone}`).toHaveLength(1);
      expect(stub[0]?.keys.map(zoneOfKey)).toEqual([{ zone, port: 53 }]);
      const forward = stub[0]?.directives.filter((d) => d[0] === "forward") ?? [];
      expect(forward).toHaveLength(1);
      const [, from, ...to] = forward[0] ?? [];
      expect(from).toBe(".");
      expect(service.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(to.map((t) => t.replace(/^dns:\/\//, ""))).toEqual([service.spec?.clusterIP]);
      const dnsPorts = (service.spec?.ports ?? []).filter((p) => p.port === 53).map((p) => p.protocol);
      expect(dnsPorts.sort()).toEqual(["TCP", "UDP"]);

      const stock = blocks.find((b) => b.keys.some((k) => zoneOfKey(k).zone === "."));
      const directives = (stock?.directives ?? []).map((d) => d.join(" "));
      expect(directives).toContain("kubernetes cluster.local in-addr.arpa ip6.arpa");
      expect(directives).toContain("forward . /etc/resolv.conf");
    });
  });
});

describe("the Dockerfile", () => {
  const dockerStages = stages(read("Dockerfile"));
  const build = dockerStages[0];
  const runtime = dockerStages.at(-1);

  test("builds on node:20-bookworm-slim and prunes devDependencies after the build", () => {
    expect(dockerStages.map((s) => s.image)).toEqual(["node:20-bookworm-slim", "node:20-bookworm-slim"]);
    const runs = (build?.instructions ?? []).filter((i) => i.keyword === "RUN").map((i) => i.args);
    const script = runs.join(" && ");
    expect(script).toMatch(/\bnpm ci\b[\s\S]*\bnpm prune --omit=dev\b/);
  });

  test("runs as a non-root user and copies only the app and its production dependencies", () => {
    const users = (runtime?.instructions ?? []).filter((i) => i.keyword === "USER").map((i) => i.args);
    expect(users.at(-1)).toMatch(/^10001(:10001)?$/);
    const runs = (runtime?.instructions ?? []).filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(runs.filter((r) => /\b(npm|yarn|pnpm)\b/.test(r))).toEqual([]);
    const copies = (runtime?.instructions ?? [])
      .filter((i) => i.keyword === "COPY")
      .map((i) => copyOf(i.args));
    const copied = copies.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, "").replace(/\/$/, "")));
    expect(copied.sort()).toEqual(["bin", "dist", "node_modules", "package.json", "zones"]);
    // node_modules only from the stage that pruned it.
    const modules = copies.find((c) => c.sources.some((s) => s.includes("node_modules")));
    expect(modules?.from).toBe(build?.name);
    expect(dockerStages.filter((s) => s.instructions.some((i) => i.keyword === "RUN"))).toEqual([build]);
  });

  test("exposes the DNS and HTTP ports and starts podns serve as the Deployment does", () => {
    const args = (keyword: string) =>
      (runtime?.instructions ?? []).filter((i) => i.keyword === keyword).map((i) => i.args);
    expect(args("EXPOSE").flatMap((a) => a.split(/\s+/))).toEqual(["5353/udp", "5353/tcp", "9153/tcp"]);
    // The young-generation cap is a measured memory choice (Dockerfile, ARCHITECTURE.md); bench/environment.ts runs podns with it too.
    expect(args("ENTRYPOINT").map(words)).toEqual([["node", "--max-semi-space-size=1", "bin/podns.js"]]);
    const container = podnsContainer(only<IDeployment>(base, "Deployment"));
    expect(args("CMD").map(words)).toEqual([container.args]);
  });

  test("keeps host builds, the repository and the tests out of the build context", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    expect(ignored).toEqual(
      expect.arrayContaining(["node_modules", "dist", ".git", "test", "bench", "coverage", "**/*.log"]),
    );
  });
});
