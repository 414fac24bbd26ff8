/**
 * `pnpm bench bridges`: the HTTP and WebSocket routes of @dripdrop/bridges against the bare library doing the
 * same JSON echo, each server in its own child process (bench/bridges/*), the load from this one, all on
 * 127.0.0.1.
 *
 * - HTTP: requests/s of `POST /echo` with a ~100-byte JSON body, autocannon at 50 connections, against a bare
 *   node:http handler (read body, JSON.parse, JSON.stringify). Target: ratio >= 0.9.
 * - WebSocket: echoes/s with 100-byte bodies over 50 connections (8 in flight on each), against a bare `ws`
 *   server that parses and answers the same frames. Target: ratio >= 0.9.
 *
 * The two sides are measured ROUNDS times each, interleaved, the best run kept (the run least disturbed by
 * other work on a shared machine). Every run is bounded in time (`BENCH_MS`, default 2000 ms) and count.
 *
 * Run after building codec, core and bridges: `node --import tsx bench/bridges.bench.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { WebSocket } from 'ws'
import { compare, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const MS = Number(process.env.BENCH_MS ?? 2000)
const ROUNDS = 3
const CONNECTIONS = 50
const WINDOW = 8
const MAX_MESSAGES = 5_000_000
const TARGET = 0.9
const BODY = { text: 'x'.repeat(86) } // {"text":"xxx…"} is 100 bytes of JSON

async function startServer(file: string, kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'bridges', file), kind], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`${file} ${kind} exited with ${code}`)))
  })
  return { child, port }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

async function httpRun(port: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/echo`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
    connections: CONNECTIONS,
    duration: MS / 1000,
    maxOverallRequests: MAX_MESSAGES,
  })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  return result.requests.mean
}

// Closed loop: every connection keeps WINDOW requests in flight and sends the next one as each reply lands.
async function wsRun(port: number): Promise<number> {
  const sockets = await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
        }),
    ),
  )
  const body = JSON.stringify(BODY)
  let count = 0
  let counting = false
  let running = true
  let seq = 0
  const frame = () => `[1,"echo",{"$id":${++seq}},${body}]`
  for (const ws of sockets) {
    ws.on('message', (data) => {
      // The dripdrop server greets each connection first; only replies ($re) count.
      if ((data as Buffer).indexOf('"$re"') === -1) return
      if (counting) count++
      if (running && count < MAX_MESSAGES) ws.send(frame())
    })
    for (let i = 0; i < WINDOW; i++) ws.send(frame())
  }
  await new Promise((r) => setTimeout(r, 300)) // warm-up
  counting = true
  const start = performance.now()
  await new Promise((r) => setTimeout(r, MS))
  const elapsed = performance.now() - start
  const n = count
  running = false
  for (const ws of sockets) ws.terminate()
  return (n * 1000) / elapsed
}

async function side(file: string, kind: string, run: (port: number) => Promise<number>): Promise<number> {
  const { child, port } = await startServer(file, kind)
  try {
    return await run(port)
  } finally {
    await stop(child)
  }
}

async function pair(
  bench: string,
  unit: string,
  peer: string,
  file: string,
  run: (port: number) => Promise<number>,
) {
  let dripdrop = 0
  let bare = 0
  for (let i = 0; i < ROUNDS; i++) {
    dripdrop = Math.max(dripdrop, await side(file, 'dripdrop', run))
    bare = Math.max(bare, await side(file, 'bare', run))
  }
  compare({ bench, unit, dripdrop, peer, peerValue: bare, target: TARGET })
}

section(`bridges: JSON echo, ${CONNECTIONS} connections, best of ${ROUNDS} x ${MS} ms`)
await pair('bridges.http.echo.c50', 'req/s', 'node:http', 'http-echo-server.ts', httpRun)
await pair('bridges.ws.echo.c50', 'msg/s', 'ws', 'ws-echo-server.ts', wsRun)
