import { Command } from 'commander'
import { Agent } from '../agent/agent.js'
import { curveFromFlags } from './curve-flags.js'

/**
 * `dripdrop agent --control tcp://control:7200 [--host name] [--address ip] [--allow roles]
 * [--curve-keys dir --curve-server-key key]`: runs this host's agent until SIGTERM/SIGINT (which stop its
 * children gracefully). Prints one line per registration, assignment and refusal.
 */
export function agentCommand(): Command {
  return new Command('agent')
    .description(
      "run this host's agent: register with the control server, run and supervise the roles it assigns",
    )
    .requiredOption('--control <address>', "the control server's agent channel, e.g. tcp://10.0.0.1:7200")
    .option('--host <name>', 'the topology host this agent serves (default: the OS host name)')
    .option('--address <ip>', "the address other hosts reach this host's roles at (default: the topology's)")
    .option('--allow <roles>', 'comma-separated roles this agent agrees to run (default: any)')
    .option('--log-dir <dir>', "directory of the children's log files", '.dripdrop/logs')
    .option(
      '--curve-keys <dir[/name]>',
      "CURVE: this agent's key pair (DIR/NAME.key + .pub, NAME default dripdrop)",
    )
    .option('--curve-server-key <key>', "CURVE: the control server's public key, Z85 text or a .pub file")
    .action(async (o: Record<string, string | undefined>) => {
      const agent = new Agent({
        control: o.control as string,
        ...(o.host === undefined ? {} : { host: o.host }),
        ...(o.address === undefined ? {} : { address: o.address }),
        ...(o.allow === undefined
          ? {}
          : {
              allow: o.allow
                .split(',')
                .map((r) => r.trim())
                .filter(Boolean),
            }),
        curve: curveFromFlags({ curveKeys: o.curveKeys, curveServerKey: o.curveServerKey }, 'client'),
        supervisor: { logDir: o.logDir as string },
      })
      const say = (line: string) => console.log(`${new Date().toISOString()} agent ${agent.host}: ${line}`)
      agent.on('agent:registered', (e) => say(`registered with ${o.control} (app ${e.app})`))
      agent.on('agent:refused', (e) => say(`refused: ${e.code} ${e.reason}`))
      agent.on('agent:control:lost', (e) =>
        say(`control server silent for ${e.silentMs} ms: registering again`),
      )
      agent.on('agent:assignment', (e) =>
        say(
          `assignment ${e.generation}: started [${e.started.join(' ')}] stopped [${e.stopped.join(' ')}] restarted [${e.restarted.join(' ')}] updated [${e.updated.join(' ')}]`,
        ),
      )
      agent.on('agent:error', (e) => say(`error: ${e.error.message}`))
      agent.supervisor.on('instance:down', (e) =>
        say(
          `${e.instance} exited (${e.signal ?? `code ${e.code}`})${e.expected ? '' : ', restart policy applies'}`,
        ),
      )
      await agent.start()
      say(`started (pid ${process.pid}), control ${o.control}`)
      let stopping = false
      const stop = () => {
        if (stopping) return
        stopping = true
        say('stopping its instances')
        agent.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
    })
}
