/**
 * `@dripdrop/core/internal`: plumbing shared with the sibling packages (`@dripdrop/zmq`, `@dripdrop/bridges`,
 * `@dripdrop/worker-pool`). Not the public API: it may change in any release without notice. Applications
 * import from `@dripdrop/core`.
 */
export { Deadlines } from './deadlines.js'
export { type Deferred, deferred } from './deferred.js'
export { Queue } from './queue.js'
