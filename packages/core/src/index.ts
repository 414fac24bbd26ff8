export type { Codec, Envelope, Head, HeadValue } from '@dripdrop/codec'
export { createCodec, EMPTY_HEAD, envelope, JsonCodec, MsgpackCodec } from '@dripdrop/codec'
export {
  AbortError,
  AddressInUseError,
  ClosedError,
  DecodeError,
  DestroyedError,
  DripdropError,
  EncodeError,
  type ErrorBody,
  fromErrorBody,
  NoHandlerError,
  NoTransportError,
  RemoteError,
  TimeoutError,
  TransportError,
  toErrorBody,
  UnroutableError,
  UnsupportedError,
} from './errors.js'
export { type NodeEventMap, NodeEvents } from './events.js'
export { inprocTransport } from './inproc/inproc-transport.js'
export { Node, type NodeOptions } from './node.js'
export {
  type Handler,
  type MessageContext,
  type RequestOptions,
  Route,
  type RouteState,
} from './route.js'
export type {
  DealerRouteOptions,
  PubRouteOptions,
  PullRouteOptions,
  PushRouteOptions,
  RepRouteOptions,
  ReqRouteOptions,
  RouteOptions,
  RouteOptionsBase,
  RouteOptionsByType,
  RouterRouteOptions,
  SubRouteOptions,
} from './route-options.js'
export { RouteStats, type RouteStatsSnapshot } from './stats.js'
export {
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  type RouteType,
  registeredTransport,
  registerTransport,
  schemeOf,
  type TransportEvent,
  type TransportFactory,
} from './transport.js'
