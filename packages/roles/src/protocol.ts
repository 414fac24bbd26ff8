/**
 * What a supervisor (the local {@link Supervisor}, an agent, an exported unit) hands a role process: the
 * environment it starts it with, and the IPC messages it may send later. Declared once, here.
 */
import type { ResolvedAddresses, ResolvedInstance } from './topology/types.js'

/** The environment variables a role process is started with. */
export const ROLE_ENV = {
  /** The role's name (`worker`). */
  role: 'DRIPDROP_ROLE',
  /** The instance's name, `<role>-<n>` (`worker-2`). */
  instance: 'DRIPDROP_INSTANCE',
  /** The host's name (`local` without hosts). */
  host: 'DRIPDROP_HOST',
  /** The topology's `name`. */
  app: 'DRIPDROP_APP',
  /** JSON of {@link ResolvedAddresses}: `{ bind: { name: address }, connect: { name: [address…] } }`. */
  addresses: 'DRIPDROP_ADDRESSES',
  /** The control server's address, when the topology has one. */
  control: 'DRIPDROP_CONTROL',
} as const

/**
 * IPC message: the instance's addresses changed (a role it connects to moved). The process's
 * `role()` handle emits `change` with them.
 */
export interface AddressesMessage {
  $dripdrop: 'addresses'
  addresses: ResolvedAddresses
}

/** Every IPC message a supervisor sends a role process. */
export type SupervisorMessage = AddressesMessage

/** The `DRIPDROP_*` variables for one instance (add them to the process's own environment and the role's `env`). */
export function roleEnv(instance: ResolvedInstance): Record<string, string> {
  return {
    [ROLE_ENV.role]: instance.role,
    [ROLE_ENV.instance]: instance.instance,
    [ROLE_ENV.host]: instance.host,
    [ROLE_ENV.app]: instance.app,
    [ROLE_ENV.addresses]: JSON.stringify(instance.addresses),
    ...(instance.control === undefined ? {} : { [ROLE_ENV.control]: instance.control }),
  }
}

/** Whether `value` has the shape of {@link ResolvedAddresses}. */
export function isAddresses(value: unknown): value is ResolvedAddresses {
  if (value === null || typeof value !== 'object') return false
  const { bind, connect } = value as Record<string, unknown>
  if (bind === null || typeof bind !== 'object' || connect === null || typeof connect !== 'object')
    return false
  return (
    Object.values(bind).every((v) => typeof v === 'string') &&
    Object.values(connect).every((v) => Array.isArray(v) && v.every((a) => typeof a === 'string'))
  )
}

/** Whether an IPC message is a {@link SupervisorMessage}. */
export function isSupervisorMessage(message: unknown): message is SupervisorMessage {
  return (
    message !== null &&
    typeof message === 'object' &&
    (message as AddressesMessage).$dripdrop === 'addresses' &&
    isAddresses((message as AddressesMessage).addresses)
  )
}
