import { type CurveOptions, ZMQ_DEFAULTS } from '@dripdrop/zmq'

/**
 * The `curve` option (`CurveOptions` of @dripdrop/zmq) is handed as is to the ZeroMQ route, which validates it
 * (with its path) and runs CURVE: the coordinator binds, so it is the CURVE server (with `allow`, only listed
 * agents get in); an agent connects, so it needs `serverKey`, the coordinator's public key, and talks to no
 * coordinator that does not hold the matching secret key. A @dripdrop/zmq without CURVE would ignore the key
 * and run in clear: refuse rather than pretend.
 */
export function curveOption(curve: CurveOptions | undefined): { curve?: CurveOptions } {
  if (curve === undefined) return {}
  if (curve === null || typeof curve !== 'object')
    throw new TypeError('options.curve must be an object (ZeroMQ CURVE options for @dripdrop/zmq)')
  if (!('curve' in ZMQ_DEFAULTS))
    throw new TypeError(
      'options.curve: this @dripdrop/zmq has no CURVE support yet, the link would not be encrypted',
    )
  return { curve }
}
