/**
 * Renders the kustomizations under deploy/ with `kubectl kustomize` and checks every document against the Kubernetes
 * OpenAPI schemas of kubernetes-models. Set KUBECTL to test with another kubectl (Debian's kubernetes-client, say).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const KUBECTL = process.env["KUBECTL"] ?? "kubectl";

/** A rendered object, checked against its schema. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

interface Validatable {
  validate(): void;
}

/** The kinds deploy/ may render, by `apiVersion/kind`; anything else is a mistake the tests should report. */
const MODELS: Record<string, new (data: never) => Validatable> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
};

/** `kubectl kustomize DIR`, without a shell: the documents of its output. */
export async function kustomize(dir: string): Promise<Manifest[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(KUBECTL, ["kustomize", dir], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`${KUBECTL} not found: install kubectl (Debian: apt-get install kubernetes-client)`);
    }
    throw err;
  }
  return parseAllDocuments(stdout).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: document ${i}: ${doc.errors[0]?.message}`);
    return doc.toJS() as Manifest;
  });
}

/** Checks one object against the schema of its kind. @throws Error naming the object and the failed rule. */
export function validated(manifest: Manifest, where: string): Manifest {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (Model === undefined) throw new Error(`${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  try {
    new Model(manifest as never).validate();
  } catch (err) {
    throw new Error(`${where}: ${manifest.kind} ${manifest.metadata?.name}: ${(err as Error).message}`);
  }
  return manifest;
}

/** The only object of a kind (and, given a name prefix, of that name: generated ConfigMaps carry a hash suffix). */
export function only<T>(manifests: readonly Manifest[], kind: string, namePrefix = ""): T {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.startsWith(namePrefix));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${namePrefix}, found ${found.length}`);
  return found[0] as unknown as T;
}
