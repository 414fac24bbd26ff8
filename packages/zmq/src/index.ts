export { HandshakeError, PeerQueueFullError, UnroutableError } from './errors.js'
export { type FilledZmqOptions, ZMQ_DEFAULTS, type ZmqOptions } from './options.js'
export { LAYOUTS, type WireLayout } from './wire.js'
export { zmqTransport } from './zmq-transport.js'
