/**
 * Kubernetes: per role a Deployment (a StatefulSet with a headless Service when others connect to each of its
 * several instances), and a Service per role that binds network addresses, ports named after the bind names.
 * One multi-document YAML file.
 */
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js'
import type { Container, EnvVar, PodTemplateSpec, Service, ServicePort } from 'kubernetes-types/core/v1.js'
import { stringify } from 'yaml'
import { ExportError } from '../errors.js'
import { ROLE_ENV } from '../protocol.js'
import {
  type AppPlan,
  bindPort,
  ceilSeconds,
  containerBind,
  ownEnv,
  portName,
  type RolePlan,
  resolveConnects,
} from './plan.js'
import type { ExportedFile, FilledExportOptions } from './types.js'

/** Label keys the manifests select on (the Kubernetes recommended labels). */
const PART_OF = 'app.kubernetes.io/part-of'
const COMPONENT = 'app.kubernetes.io/component'

/** `<app>-<role>`: the name of a role's workload and Service (a DNS-1035 label). */
export function kubernetesName(app: string, role: string): string {
  const name = `${app}-${role}`
  // StatefulSet pods are named `<name>-<ordinal>` and labelled with a 63-character revision hash name: stay
  // under the 52 characters Kubernetes advises for workload names.
  if (name.length > 52)
    throw new ExportError(
      `"${name}" is longer than 52 characters: shorten the app or role name for Kubernetes`,
    )
  return name
}

/** Kubernetes expands `$(VAR)` in env values, command and args: `$$(` keeps it literal. */
function literal(value: string): string {
  return value.replace(/\$\(/g, '$$$$(')
}

/** Where a role's Service is reached from inside the cluster. */
function serviceHost(name: string, namespace: string | undefined): string {
  return namespace === undefined ? name : `${name}.${namespace}.svc`
}

/** The addresses others connect to for `target`: one per pod of a StatefulSet, else its Service. */
function hostsOf(plan: AppPlan, namespace: string | undefined) {
  return (target: RolePlan): string[] => {
    const name = kubernetesName(plan.app, target.role)
    if (!target.addressedPerInstance) return [serviceHost(name, namespace)]
    // A StatefulSet pod is `<name>-<ordinal>.<service>` in the cluster DNS.
    return Array.from({ length: target.instances }, (_, i) => `${name}-${i}.${serviceHost(name, namespace)}`)
  }
}

function envOf(plan: AppPlan, role: RolePlan, namespace: string | undefined): EnvVar[] {
  const bind: Record<string, string> = {}
  for (const [name, address] of Object.entries(role.bind)) bind[name] = containerBind(address)
  const addresses = { bind, connect: resolveConnects(plan, role, hostsOf(plan, namespace)) }
  const env: EnvVar[] = ownEnv(role).map(([name, value]) => ({ name, value: literal(value) }))
  env.push(
    { name: ROLE_ENV.app, value: plan.app },
    { name: ROLE_ENV.role, value: role.role },
    // The pod's name is the instance: unique, and what `kubectl logs` takes.
    { name: ROLE_ENV.instance, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: ROLE_ENV.host, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    { name: ROLE_ENV.addresses, value: literal(JSON.stringify(addresses)) },
  )
  if (plan.control !== undefined) env.push({ name: ROLE_ENV.control, value: literal(plan.control) })
  return env
}

function servicePorts(role: RolePlan): ServicePort[] {
  const ports: ServicePort[] = []
  const seen = new Map<string, string>()
  for (const [bind, address] of Object.entries(role.bind)) {
    const port = bindPort(address)
    if (port === undefined) continue
    const name = portName(role.role, bind)
    const clash = seen.get(name)
    if (clash !== undefined)
      throw new ExportError(
        `roles.${role.role}.bind: "${clash}" and "${bind}" make the same port name "${name}"`,
      )
    seen.set(name, bind)
    ports.push({ name, port, targetPort: name, protocol: 'TCP' })
  }
  return ports
}

function podTemplate(plan: AppPlan, role: RolePlan, options: FilledExportOptions): PodTemplateSpec {
  const labels = { [PART_OF]: plan.app, [COMPONENT]: role.role }
  const ports = servicePorts(role)
  const container: Container = {
    name: role.role,
    image: options.image,
    workingDir: options.workdir,
    command: ['node', ...role.nodeArgs, role.entry].map(literal),
    ...(role.args.length > 0 ? { args: role.args.map(literal) } : {}),
    env: envOf(plan, role, options.namespace),
    ...(ports.length > 0
      ? { ports: ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })) }
      : {}),
  }
  return {
    metadata: { labels },
    spec: {
      // Liveness is the process: the kubelet restarts the container when it exits (pods only restart Always).
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: ceilSeconds(role.restart.stopTimeoutMs),
      // node must not be PID 1: the kernel gives PID 1 no default action for SIGTERM, so a role without its own
      // handler would ignore the stop and be killed after the grace period. The pod's pause process takes PID 1.
      shareProcessNamespace: true,
      // No `<SERVICE>_PORT` variables for every Service in the namespace: the role's env is what it declares.
      enableServiceLinks: false,
      containers: [container],
    },
  }
}

function metadata(plan: AppPlan, role: RolePlan, namespace: string | undefined) {
  return {
    name: kubernetesName(plan.app, role.role),
    ...(namespace === undefined ? {} : { namespace }),
    labels: { [PART_OF]: plan.app, [COMPONENT]: role.role },
  }
}

/** The Kubernetes objects for a plan, in apply order (Services first, so their DNS names exist). */
export function kubernetesObjects(
  plan: AppPlan,
  options: FilledExportOptions,
): (Deployment | StatefulSet | Service)[] {
  const services: Service[] = []
  const workloads: (Deployment | StatefulSet)[] = []
  for (const role of plan.roles) {
    const meta = metadata(plan, role, options.namespace)
    const selector = { matchLabels: { [PART_OF]: plan.app, [COMPONENT]: role.role } }
    const ports = servicePorts(role)
    if (role.addressedPerInstance) {
      services.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        // Headless: each pod gets its own DNS name, so a connector reaches every instance, not one at random.
        spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: selector.matchLabels, ports },
      })
      workloads.push({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta,
        spec: {
          serviceName: meta.name,
          replicas: role.instances,
          // Start and stop every instance at once, as a Deployment would.
          podManagementPolicy: 'Parallel',
          selector,
          template: podTemplate(plan, role, options),
        },
      })
      continue
    }
    if (ports.length > 0)
      services.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta,
        spec: { type: 'ClusterIP', selector: selector.matchLabels, ports },
      })
    workloads.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: { replicas: role.instances, selector, template: podTemplate(plan, role, options) },
    })
  }
  return [...services, ...workloads]
}

function header(plan: AppPlan, options: FilledExportOptions): string {
  const notes = plan.roles
    .filter((r) => r.restart.policy !== 'always')
    .map(
      (r) =>
        `#   ${r.role}: restart policy "${r.restart.policy}" runs as Always (the only policy a Deployment allows)`,
    )
  return [
    `# ${plan.app}: generated by \`dripdrop export --format kubernetes\` from its topology file; edit that, then export again.`,
    `# Image ${options.image} must hold the app at ${options.workdir} with its node_modules (tsx for .ts entries).`,
    "# Pods restart on exit with the kubelet's back-off (10 s doubling to 5 min), not the topology's restart delays.",
    ...(notes.length > 0 ? ['# Restart policies:', ...notes] : []),
  ].join('\n')
}

/**
 * kubectl reads YAML 1.1, where a bare `no`, `on` or `y` is a boolean: write 1.1 so such strings are quoted.
 */
const YAML_OPTIONS = { version: '1.1', lineWidth: 0 } as const

/** Renders the plan as one multi-document YAML file, `kubernetes.yaml`. */
export function renderKubernetes(plan: AppPlan, options: FilledExportOptions): ExportedFile[] {
  const docs = kubernetesObjects(plan, options).map((o) => stringify(o, YAML_OPTIONS))
  return [{ path: 'kubernetes.yaml', content: `${header(plan, options)}\n---\n${docs.join('---\n')}` }]
}
