import { Agent } from '@dripdrop/loadtester'
import { Command } from 'commander'

interface AgentFlags {
  connect: string
  token?: string
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
    .showHelpAfterError()
    .action(async (f: AgentFlags) => {
      const token = f.token ?? process.env.DRIPDROP_LOAD_TOKEN
      let agent: Agent
      try {
        agent = new Agent({ connect: f.connect, ...(token === undefined ? {} : { token }) })
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
