// A supervised process for bench/roles.bench.ts: with BENCH_PORT it connects to the bench and writes its pid
// (that is "serving"), then idles; without, it only idles (the 50 idle children of the overhead run).
import { connect } from 'node:net'

if (process.env.BENCH_PORT) {
  const socket = connect(Number(process.env.BENCH_PORT), '127.0.0.1', () => socket.write(`${process.pid}\n`))
  socket.on('error', () => {})
}
process.on('SIGTERM', () => process.exit(0))
setInterval(() => {}, 60_000)
