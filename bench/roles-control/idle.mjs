// An idle role process for bench/roles-control.bench.ts: stays up until killed.
setInterval(() => {}, 1 << 30)
process.on('SIGTERM', () => process.exit(0))
