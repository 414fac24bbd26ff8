export { DripdropError, RoleError, SupervisorError, TopologyError } from './errors.js'
export { connectAddress, offsetAddress, parseAddress, type ParsedAddress } from './topology/address.js'
export { loadTopology } from './topology/load.js'
export { type ResolveOptions, resolveTopology } from './topology/resolve.js'
export {
  defineTopology,
  type FilledRestartPolicy,
  type HostSpec,
  LOCAL_ADDRESS,
  LOCAL_HOST,
  RESTART_DEFAULTS,
  type ResolvedAddresses,
  type ResolvedInstance,
  type RestartPolicy,
  type RestartPolicyName,
  type RoleSpec,
  type Topology,
} from './topology/types.js'
export {
  type Placement,
  placements,
  roleLimits,
  TOPOLOGY_SCHEMA,
  validateTopology,
} from './topology/validate.js'
export { TypedEvents } from './events.js'
export {
  type AddressesMessage,
  isAddresses,
  isSupervisorMessage,
  ROLE_ENV,
  roleEnv,
  type SupervisorMessage,
} from './protocol.js'
export { type RoleEventMap, type RoleOptions, role, RoleContext } from './role/role.js'
export { type AddressSource, type FollowOptions, type Following, follow } from './follow.js'
