import { ZMQ_DEFAULTS } from '@dripdrop/zmq'

/**
 * The `curve` option is handed as is to the ZeroMQ route. Until @dripdrop/zmq knows CURVE (a `curve` key in
 * its options), a route would silently ignore it and the link would run in clear: refuse rather than pretend.
 */
export function curveOption(curve: unknown): { curve?: Record<string, unknown> } {
  if (curve === undefined) return {}
  if (curve === null || typeof curve !== 'object')
    throw new TypeError('options.curve must be an object (ZeroMQ CURVE options for @dripdrop/zmq)')
  if (!('curve' in ZMQ_DEFAULTS))
    throw new TypeError(
      'options.curve: this @dripdrop/zmq has no CURVE support yet, the link would not be encrypted',
    )
  return { curve: curve as Record<string, unknown> }
}
