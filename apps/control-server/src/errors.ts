import { HttpStatusError } from '@dripdrop/bridges'

export { DripdropError } from '@dripdrop/core'

/** Codes of the control server's own refusals (HTTP API and options). */
export type ControlErrorCode =
  | 'DD_ERR_CONTROL_UNAUTHORIZED'
  | 'DD_ERR_CONTROL_BAD_QUERY'
  | 'DD_ERR_CONTROL_NOT_FOUND'
  | 'DD_ERR_CONTROL_INSECURE'
  /** `/api/roles…` on a server started without a topology. */
  | 'DD_ERR_CONTROL_NO_ROLES'
  /** A role command the controller refused (unknown instance or role, no live agent, an agent's failure). */
  | 'DD_ERR_CONTROL'

/**
 * An API request the control server refuses: an `HttpStatusError` (so the http-server route answers with its
 * status and a JSON body `{ error: { code, message } }`) with a `DD_ERR_CONTROL_*` code.
 */
export class ControlHttpError extends HttpStatusError {
  constructor(status: number, code: ControlErrorCode, message: string) {
    super(status, code, message)
  }
}

/** Refused options at start (e.g. a public bind without a token: `DD_ERR_CONTROL_INSECURE`). */
export class ControlOptionsError extends Error {
  readonly code: ControlErrorCode
  constructor(message: string, code: ControlErrorCode) {
    super(message)
    this.code = code
  }
}
