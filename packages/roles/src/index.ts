export { DripdropError, ExportError, RoleError, SupervisorError, TopologyError } from './errors.js'
export { exportTopology } from './export/export-topology.js'
export { EXPORT_FORMATS, type ExportedFile, type ExportFormat, type ExportOptions } from './export/types.js'
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
export { LOG_DEFAULTS, type LogLine, type LogOptions, type LogStream } from './supervisor/log-sink.js'
export type { ExitInfo, InstanceState } from './supervisor/managed-instance.js'
export {
  type ApplyResult,
  type InstanceRef,
  type InstanceStatus,
  type LogsOptions,
  Supervisor,
  type SupervisorEventMap,
  type SupervisorOptions,
  type SupervisorState,
} from './supervisor/supervisor.js'
export { inprocInstance, startedByRole } from './inproc/context.js'
export { inprocTopology, runInProcess } from './inproc/run-inproc.js'
export { type AddressSource, type FollowOptions, type Following, follow } from './follow.js'
export { Agent, type AgentEventMap, type AgentOptions, type AgentState } from './agent/agent.js'
export {
  AGENT_PROTOCOL_VERSION,
  type AgentMessage,
  type ControlMessage,
  DEFAULT_AGENTS_ADDRESS,
  type InstanceReport,
} from './agent/messages.js'
export {
  type ControllerEventMap,
  type ControllerStatus,
  type HostState,
  type InstanceEvent,
  RoleController,
  type RoleControllerOptions,
} from './controller/controller.js'
export { InstancePlacement, type Move, type Placed } from './controller/placement.js'
export { AgentError } from './errors.js'
