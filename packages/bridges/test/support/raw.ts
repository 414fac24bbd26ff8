import { connect, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

/** A raw TCP client on loopback, destroyed when the test finishes; `text()` is everything it read so far. */
export async function rawClient(
  port: number,
): Promise<{ socket: Socket; text: () => string; closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1')
  onTestFinished(() => {
    socket.destroy()
  })
  socket.on('error', () => {}) // resets are what some tests do on purpose
  let out = ''
  socket.on('data', (d) => {
    out += d
  })
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(out)))
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  return { socket, text: () => out, closed }
}

/** Resolves once `read()` holds `needle` (the socket's data events drive it, no polling clock). */
export function readUntil(socket: Socket, read: () => string, needle: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (read().includes(needle)) return resolve()
    const onData = () => {
      if (!read().includes(needle)) return
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve()
    }
    const onClose = () => reject(new Error(`connection closed before "${needle}": ${read()}`))
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}
