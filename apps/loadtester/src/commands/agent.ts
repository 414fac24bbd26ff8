import { Agent } from '@dripdrop/loadtester'
import { curveFromFlags } from '@dripdrop/zmq'
import { Command, Option } from 'commander'

interface AgentFlags {
  connect: string
  token?: string
  curveKeys?: string
  curveServerKey?: string
}

/** The `agent` command: runs jobs from a coordinator until SIGINT/SIGTERM. */
export function agentCommand(io: {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  setExitCode(code: number): void
}) {
  return new Command('agent')
    .description(
      'Run a load-test agent: connect to a coordinator (dripdrop-load run --listen …) and run the shares of\n' +
        'the tests it sends, reporting per-second HDR deltas and CPU. Runs until interrupted.',
    )
    .requiredOption('--connect <endpoint>', 'the coordinator, e.g. tcp://coordinator:5600')
    .option('--token <secret>', 'shared secret (or env DRIPDROP_LOAD_TOKEN): run only jobs proven with it')
    .addOption(
      new Option(
        '--curve-keys <dir[/name]>',
        "CURVE: this agent's key pair (`dripdrop keys generate`: DIR, or DIR/NAME for NAME.key + NAME.pub)",
      ).env('DRIPDROP_LOAD_CURVE_KEYS'),
    )
    .addOption(
      new Option(
        '--curve-server-key <key>',
        'CURVE: the public key of the only coordinator whose jobs this agent runs (Z85 text or a .pub file)',
      ).env('DRIPDROP_LOAD_CURVE_SERVER_KEY'),
    )
    .showHelpAfterError()
    .action(async (f: AgentFlags) => {
      const token = f.token ?? process.env.DRIPDROP_LOAD_TOKEN
      let agent: Agent
      try {
        // --curve-keys / --curve-server-key, else DRIPDROP_CURVE_* (one reader for every dripdrop CLI).
        const curve = curveFromFlags({ keys: f.curveKeys, serverKey: f.curveServerKey }, { role: 'client' })
        agent = new Agent({
          connect: f.connect,
          ...(token === undefined ? {} : { token }),
          ...(curve === undefined ? {} : { curve }),
        })
      } catch (err) {
        io.stderr.write(`dripdrop-load: ${(err as Error).message}\n`)
        io.setExitCode(2)
        return
      }
      agent.events.on('agent:welcome', () => io.stdout.write(`agent ${agent.agentId}: joined ${f.connect}\n`))
      agent.events.on('agent:job:start', ({ jobId }) =>
        io.stdout.write(`agent ${agent.agentId}: job ${jobId} started\n`),
      )
      agent.events.on('agent:job:end', ({ jobId }) =>
        io.stdout.write(`agent ${agent.agentId}: job ${jobId} done\n`),
      )
      agent.events.on('agent:error', ({ error }) =>
        io.stderr.write(`agent ${agent.agentId}: ${error.message}\n`),
      )
      await agent.start()
      io.stdout.write(`agent ${agent.agentId}: connecting to ${f.connect}\n`)
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          void agent.close().then(resolve)
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      })
      io.setExitCode(0)
    })
}
