import { DripdropError } from '@dripdrop/core'

export { DestroyedError, DripdropError } from '@dripdrop/core'

/**
 * A scenario file or object does not validate (`DD_ERR_SCENARIO_INVALID`). `path` names the offending field in
 * JSON-pointer form (`/requests/2/method`), `file` the scenario file when there is one.
 *
 * @example
 * ```ts
 * try { await loadScenario('scenario.yaml') } catch (err) {
 *   if (err.code === 'DD_ERR_SCENARIO_INVALID') console.error(err.message) // scenario.yaml: /requests/0/url: …
 * }
 * ```
 */
export class ScenarioError extends DripdropError {
  /** JSON-pointer path of the first invalid field, `''` for the whole document. */
  readonly path: string
  /** The scenario file, when it came from one. */
  readonly file: string | undefined

  constructor(message: string, path = '', file?: string, cause?: unknown) {
    super(file === undefined ? message : `${file}: ${message}`, 'DD_ERR_SCENARIO_INVALID', { cause })
    this.path = path
    this.file = file
  }
}

/** A threshold expression does not parse (`DD_ERR_THRESHOLD_INVALID`), e.g. `p99<fast`. */
export class ThresholdError extends DripdropError {
  /** The expression as given. */
  readonly expression: string

  constructor(expression: string, reason: string) {
    super(`threshold "${expression}": ${reason}`, 'DD_ERR_THRESHOLD_INVALID')
    this.expression = expression
  }
}

/**
 * A distributed-run peer sent a message that is not part of the protocol (`DD_ERR_AGENT_PROTOCOL`): bad shape,
 * unknown name, unknown agent or job. Counted in the coordinator's or agent's `stats.invalid`; the peer is served on.
 */
export class AgentProtocolError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_AGENT_PROTOCOL')
  }
}

/**
 * A peer failed the shared-token check (`DD_ERR_AGENT_AUTH`): an agent without the coordinator's token, or a
 * job whose proof the agent cannot verify. Counted in `stats.refused`; nothing runs.
 */
export class AgentAuthError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_AGENT_AUTH')
  }
}

/** A distributed run found no agent to run it (`DD_ERR_NO_AGENTS`), or every agent was lost before the end. */
export class NoAgentsError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_NO_AGENTS')
  }
}
