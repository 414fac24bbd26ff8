export { type CurveOptions, CurveSettings, publicKeyOf } from './curve/curve-options.js'
export {
  type CurveRole,
  type CurveSocket,
  curveSocketOptions,
  openCurve,
  validateCurve,
} from './curve/curve-socket.js'
export type { Refusal } from './curve/zap-handler.js'
export {
  generateKeyPair,
  type KeyPair,
  keysFromEnv,
  loadKeyPair,
  loadPublicKeys,
  writeKeyPair,
} from './curve/keys.js'
export { isZ85, z85Decode, z85Encode } from './curve/z85.js'
export { CurveKeyError, HandshakeError, PeerQueueFullError, UnroutableError } from './errors.js'
export { type FilledZmqOptions, ZMQ_DEFAULTS, type ZmqOptions } from './options.js'
export { LAYOUTS, type WireLayout } from './wire.js'
export { zmqTransport } from './zmq-transport.js'
export { type CurveFlags, type CurveFlagsOptions, curveFromFlags } from './curve/flags.js'
