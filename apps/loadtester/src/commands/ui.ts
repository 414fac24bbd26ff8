import { availableParallelism } from 'node:os'
import { Command, InvalidArgumentError } from 'commander'
import { UiServer } from '../ui/ui-server.js'

interface UiFlags {
  host: string
  port: number
  wsPort: number
  listen?: string
  threads?: number
  token?: string
}

const port = (name: string) => (v: string) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`${name} must be a port (0..65535)`)
  return n
}

/** The `ui` command: the live web UI (start/stop tests, live charts, agents' health) until interrupted. */
export function uiCommand(io: {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  setExitCode(code: number): void
}) {
  return new Command('ui')
    .description(
      'Serve the live web UI: start and stop tests from a browser, live throughput and latency charts,\n' +
        'agents and their health. Local agent threads run the tests; remote agents may join via --listen.',
    )
    .option('--host <address>', 'address of the page and of its WebSocket', '127.0.0.1')
    .option('--port <n>', 'HTTP port of the page (0: any)', port('--port'), 8089)
    .option('--ws-port <n>', 'WebSocket port of the live updates (0: any)', port('--ws-port'), 8090)
    .option('--listen <endpoint>', 'where remote agents connect, e.g. tcp://0.0.0.0:5600')
    .option('--threads <n>', 'local agent threads (default: one per core)', port('--threads'))
    .option('--token <secret>', 'shared secret agents must hold (or env DRIPDROP_LOAD_TOKEN)')
    .showHelpAfterError()
    .action(async (f: UiFlags) => {
      const token = f.token ?? process.env.DRIPDROP_LOAD_TOKEN
      const ui = new UiServer({
        http: `http://${f.host}:${f.port}`,
        ws: `ws://${f.host}:${f.wsPort}`,
        threads: f.threads ?? availableParallelism(),
        ...(f.listen === undefined ? {} : { listen: f.listen }),
        ...(token === undefined ? {} : { token }),
      })
      try {
        await ui.start()
      } catch (err) {
        io.stderr.write(`dripdrop-load: ${(err as Error).message}\n`)
        await ui.close().catch(() => {})
        io.setExitCode(2)
        return
      }
      io.stdout.write(`dripdrop-load ui on ${ui.url} (agents connect to ${ui.coordinator.endpoint})\n`)
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          void ui.close().then(resolve)
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      io.setExitCode(0)
    })
}
