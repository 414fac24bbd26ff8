import { RoleError, TopologyError } from '../errors.js'
import { inprocInstance } from '../inproc/context.js'
import { TypedEvents } from '../events.js'
import { isAddresses, isSupervisorMessage, ROLE_ENV } from '../protocol.js'
import { loadTopology } from '../topology/load.js'
import { resolveTopology } from '../topology/resolve.js'
import type { ResolvedAddresses, Topology } from '../topology/types.js'

/** Events of a {@link RoleContext}. */
export interface RoleEventMap {
  /** The addresses changed (a role this one connects to moved); the payload is the new set. */
  change: ResolvedAddresses
}

/** Options of {@link role}, for a process not started by a supervisor. */
export interface RoleOptions {
  /** The role to be, when `DRIPDROP_ROLE` is not set. Needs `topology`. */
  role?: string
  /** The topology file (or object) to resolve `role` from. */
  topology?: string | Topology
  /** Which instance of the role (`worker-2`). @default the role's first instance (on `host`, if given) */
  instance?: string
  /** The host the instance is placed on. @default any */
  host?: string
}

/**
 * Who this process is: its app, role, instance, host, and resolved addresses. Returned by {@link role}.
 * `addresses` follows updates: when the supervisor sends new ones over IPC, it changes and `change` is emitted.
 */
export class RoleContext extends TypedEvents<RoleEventMap> {
  readonly app: string
  readonly role: string
  /** `<role>-<n>`, e.g. `worker-2`. */
  readonly instance: string
  readonly host: string
  /** The control server's address, when known. */
  readonly control: string | undefined
  #addresses: ResolvedAddresses
  #listening: ((message: unknown) => void) | undefined

  /** @internal Use {@link role}. */
  constructor(fields: {
    app: string
    role: string
    instance: string
    host: string
    control: string | undefined
    addresses: ResolvedAddresses
    ipc: boolean
  }) {
    super()
    this.app = fields.app
    this.role = fields.role
    this.instance = fields.instance
    this.host = fields.host
    this.control = fields.control
    this.#addresses = fields.addresses
    if (fields.ipc && typeof process.send === 'function') {
      this.#listening = (message) => {
        if (!isSupervisorMessage(message)) return
        this.#addresses = message.addresses
        this.emit('change', message.addresses)
      }
      process.on('message', this.#listening)
      // A 'message' listener refs the IPC channel; it must not keep the process alive on its own.
      process.channel?.unref()
    }
  }

  /** What this instance binds (name → address) and connects to (name → every address behind it). */
  get addresses(): ResolvedAddresses {
    return this.#addresses
  }

  /** Every address behind connect name `name`, or throws {@link RoleError} naming what the role connects to. */
  connect(name: string): string[] {
    const list = this.#addresses.connect[name]
    if (list === undefined)
      throw new RoleError(
        `role "${this.role}" connects to no "${name}" (it connects to: ${Object.keys(this.#addresses.connect).join(', ') || 'nothing'})`,
      )
    return list
  }

  /** The address bind name `name` binds, or throws {@link RoleError} naming what the role binds. */
  bind(name: string): string {
    const address = this.#addresses.bind[name]
    if (address === undefined)
      throw new RoleError(
        `role "${this.role}" binds no "${name}" (it binds: ${Object.keys(this.#addresses.bind).join(', ') || 'nothing'})`,
      )
    return address
  }

  /** Stops listening for address updates. */
  close(): void {
    if (this.#listening === undefined) return
    process.off('message', this.#listening)
    this.#listening = undefined
    this.removeAllListeners()
  }
}

const HOW =
  'start it with `dripdrop start <topology> --role <role>` (or under `dripdrop start`/an agent), or call ' +
  'role({ role, topology }) to resolve it from a topology file'

/**
 * Who this process is, as the supervisor that started it said (the `DRIPDROP_*` environment, see
 * {@link ROLE_ENV}; it wins over `options`); address updates arrive over IPC as `change` events. Outside a
 * supervisor, pass `{ role, topology }` to resolve from a topology file directly.
 *
 * Rejects with {@link RoleError} (`DD_ERR_ROLE`) when neither says who this process is, or the environment is
 * malformed; with `TopologyError` when the topology is not valid.
 *
 * @example
 * ```ts
 * import { role } from '@dripdrop/roles'
 * const me = await role()
 * node.route('work', { type: 'pull', connect: me.connect('work') })
 * me.on('change', (addresses) => console.log('moved', addresses.connect.work))
 * ```
 */
export async function role(options: RoleOptions = {}): Promise<RoleContext> {
  const inproc = inprocInstance.getStore()
  if (inproc !== undefined)
    return new RoleContext({
      app: inproc.app,
      role: inproc.role,
      instance: inproc.instance,
      host: inproc.host,
      control: inproc.control,
      addresses: inproc.addresses,
      ipc: false,
    })
  const env = process.env
  const name = env[ROLE_ENV.role]
  if (name !== undefined && name !== '') {
    const missing = [ROLE_ENV.instance, ROLE_ENV.app, ROLE_ENV.addresses].filter((k) => !env[k])
    if (missing.length > 0)
      throw new RoleError(`${ROLE_ENV.role}=${name} is set, but ${missing.join(', ')} is not`)
    let addresses: unknown
    try {
      addresses = JSON.parse(env[ROLE_ENV.addresses] as string)
    } catch (err) {
      throw new RoleError(`${ROLE_ENV.addresses} is not JSON: ${(err as Error).message}`, err)
    }
    if (!isAddresses(addresses))
      throw new RoleError(
        `${ROLE_ENV.addresses} must be { bind: { name: address }, connect: { name: [address] } }`,
      )
    return new RoleContext({
      app: env[ROLE_ENV.app] as string,
      role: name,
      instance: env[ROLE_ENV.instance] as string,
      host: env[ROLE_ENV.host] || 'local',
      control: env[ROLE_ENV.control] || undefined,
      addresses,
      ipc: true,
    })
  }
  if (options.role === undefined || options.topology === undefined)
    throw new RoleError(`this process has no role (${ROLE_ENV.role} is not set): ${HOW}`)
  const topology =
    typeof options.topology === 'string' ? await loadTopology(options.topology) : options.topology
  const candidates = resolveTopology(topology, {
    role: options.role,
    ...(options.host === undefined ? {} : { host: options.host }),
  })
  const me =
    options.instance === undefined ? candidates[0] : candidates.find((i) => i.instance === options.instance)
  if (me === undefined)
    throw new TopologyError([
      `role "${options.role}" has no instance ${options.instance ?? ''}${options.host === undefined ? '' : ` on host ${options.host}`} (instances: ${candidates.map((i) => i.instance).join(', ') || 'none'})`,
    ])
  return new RoleContext({
    app: me.app,
    role: me.role,
    instance: me.instance,
    host: me.host,
    control: me.control,
    addresses: me.addresses,
    ipc: false,
  })
}
