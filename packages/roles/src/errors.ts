import { DripdropError } from '@dripdrop/core'

export { DripdropError } from '@dripdrop/core'

/**
 * A topology file could not be read or is not valid (`DD_ERR_TOPOLOGY`). `issues` lists every problem found,
 * each naming its path in the file (`roles.worker.instances must be >= 1`,
 * `roles.worker.connect.work: unknown role "gatway"`); the message joins them.
 */
export class TopologyError extends DripdropError {
  /** Every problem found, one line each, path first. */
  readonly issues: readonly string[]
  /** The file, when the topology came from one. */
  readonly file: string | undefined
  constructor(issues: readonly string[], file?: string, cause?: unknown) {
    const where = file === undefined ? 'topology' : `topology ${file}`
    super(`${where}: ${issues.length === 1 ? issues[0] : `\n  ${issues.join('\n  ')}`}`, 'DD_ERR_TOPOLOGY', {
      cause,
    })
    this.issues = issues
    this.file = file
  }
}

/**
 * `role()` could not tell which role this process is (`DD_ERR_ROLE`): it was not started by a supervisor (no
 * `DRIPDROP_ROLE` in its environment) and was given no `{ role, topology }`, or the environment is malformed.
 */
export class RoleError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_ROLE', { cause })
  }
}

/**
 * A {@link Supervisor} call named something it does not run, or came in a state that refuses it
 * (`DD_ERR_SUPERVISOR`): an unknown instance or role, a call after `close()`.
 */
export class SupervisorError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_SUPERVISOR', { cause })
  }
}

/**
 * `exportTopology()` / `dripdrop export` cannot render a valid topology for the engine asked (`DD_ERR_EXPORT`):
 * an unknown format, an entry module outside the app root, a `role:` connect to an ipc/inproc bind (no path
 * between containers), a bind name that makes no Kubernetes port name. The message names the path in the file.
 */
export class ExportError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_EXPORT', { cause })
  }
}

/**
 * The agent channel failed (codes: `DD_ERR_AGENT_PROTOCOL` a malformed message, `DD_ERR_AGENT_REFUSED` a
 * registration or an assignment refused, `DD_ERR_AGENT_VERSION` another protocol version, `DD_ERR_CONTROL` a
 * command the controller cannot run).
 */
export class AgentError extends DripdropError {
  constructor(message: string, code: string, cause?: unknown) {
    super(message, code, { cause })
  }
}
