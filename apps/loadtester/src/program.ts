import { createRequire } from 'node:module'
import { Command } from 'commander'
import { agentCommand } from './commands/agent.js'
import { EXIT, runCommand } from './commands/run.js'
import { uiCommand } from './commands/ui.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** The `dripdrop-load` program: `run` (and `--help` on it and on every command). */
export function program(io: {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  setExitCode(code: number): void
}): Command {
  const setup = (c: Command): Command =>
    c
      .exitOverride((err) => {
        // --help and --version exit 0; a usage error exits with EXIT.usage instead of commander's 1.
        process.exit(err.exitCode === 0 ? 0 : EXIT.usage)
      })
      .configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => io.stderr.write(s),
      })
  return setup(
    new Command('dripdrop-load')
      .description(
        'HTTP load tester on dripdrop: open and closed models, coordinated-omission-correct latencies, reports, thresholds',
      )
      .version(version),
  )
    .addCommand(setup(runCommand(io)))
    .addCommand(setup(agentCommand(io)))
    .addCommand(setup(uiCommand(io)))
}
