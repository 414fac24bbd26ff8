import { type Command, InvalidArgumentError, Option } from 'commander'

/** Options every remote command takes: where the control server is, and its bearer token. */
interface RemoteOptions {
  server?: string
  token?: string
}

const serverOption = () =>
  new Option('-s, --server <url>', "the control server's HTTP API, e.g. http://10.0.0.1:7180").env(
    'DRIPDROP_SERVER',
  )
const tokenOption = () =>
  new Option('-t, --token <token>', "the control server's bearer token").env('DRIPDROP_CONTROL_TOKEN')

function count(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0')
  return n
}

/** A coded error of the control server's API, or of the connection to it. */
export class RemoteCommandError extends Error {
  readonly code: string
  constructor(message: string, code: string) {
    super(message)
    this.code = code
  }
}

/** Calls the control server's API; resolves with the JSON answer, rejects with its coded error. */
export async function callControl(
  o: RemoteOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<unknown> {
  if (o.server === undefined)
    throw new RemoteCommandError(
      '--server (or DRIPDROP_SERVER) is required: the control server to talk to',
      'DD_ERR_CONTROL',
    )
  const url = `${o.server.replace(/\/+$/, '')}${path}`
  let res: Response
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (err) {
    throw new RemoteCommandError(
      `cannot reach ${url}: ${(err as Error).message}`,
      'DD_ERR_CONTROL_UNREACHABLE',
    )
  }
  const text = await res.text()
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = text
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } })?.error
    throw new RemoteCommandError(`${res.status} ${e?.message ?? text}`, e?.code ?? `HTTP_${res.status}`)
  }
  return json
}

/** `instance-3` names an instance; anything else a role. */
function target(name: string): { instance: string } | { role: string } {
  return /-\d+$/.test(name) ? { instance: name } : { role: name }
}

interface Status {
  app: string
  generation: number
  hosts: { host: string; address: string; state: string; silentMs?: number; instances: string[] }[]
  instances: {
    instance: string
    role: string
    host: string
    home: string
    state: string
    pid?: number
    restarts: number
  }[]
}

/** The text `dripdrop status` prints. */
export function formatStatus(s: Status): string {
  const rows = [
    `app ${s.app} (assignment ${s.generation})`,
    '',
    'HOST       ADDRESS          STATE    INSTANCES',
  ]
  for (const h of s.hosts)
    rows.push(`${h.host.padEnd(10)} ${h.address.padEnd(16)} ${h.state.padEnd(8)} ${h.instances.join(' ')}`)
  rows.push('', 'INSTANCE         ROLE         HOST       STATE     PID      RESTARTS')
  for (const i of s.instances)
    rows.push(
      `${i.instance.padEnd(16)} ${i.role.padEnd(12)} ${(i.host === i.home ? i.host : `${i.host}(${i.home})`).padEnd(10)} ${i.state.padEnd(9)} ${String(i.pid ?? '-').padEnd(8)} ${i.restarts}`,
    )
  return rows.join('\n')
}

/** Runs `dripdrop start --server … <instance|role>` (the `start` command delegates here with `--server`). */
export async function remoteStart(name: string, o: RemoteOptions): Promise<void> {
  await callControl(o, 'POST', '/api/roles/command', { op: 'start', ...target(name) })
  console.log(`started ${name}`)
}

function run(fn: () => Promise<void>): Promise<void> {
  return fn().catch((err: Error & { code?: string }) => {
    console.error(`dripdrop: ${err.code ?? 'error'}: ${err.message}`)
    process.exitCode = 1
  })
}

/**
 * The commands that drive a control server over its HTTP API (`--server`, `--token`): `status`, `stop`,
 * `restart`, `scale`, `reload`, `rebalance`, `logs [--follow]`. `dripdrop start` stays the local runner;
 * with `--server` it starts an instance or a role remotely (see docs/deploying.md).
 */
export function controlCommands(program: Command): void {
  program
    .command('status')
    .description("hosts, roles and instances of the control server's topology, with their state")
    .addOption(serverOption())
    .addOption(tokenOption())
    .option('--json', 'print the JSON the API answers')
    .action((o: RemoteOptions & { json?: boolean }) =>
      run(async () => {
        const s = (await callControl(o, 'GET', '/api/roles')) as Status
        console.log(o.json ? JSON.stringify(s, null, 2) : formatStatus(s))
      }),
    )
  for (const op of ['stop', 'restart'] as const)
    program
      .command(op)
      .description(`${op} an instance (worker-2) or every instance of a role (worker) through its agent`)
      .argument('<instance|role>')
      .addOption(serverOption())
      .addOption(tokenOption())
      .action((name: string, o: RemoteOptions) =>
        run(async () => {
          await callControl(o, 'POST', '/api/roles/command', { op, ...target(name) })
          console.log(`${op === 'stop' ? 'stopped' : 'restarted'} ${name}`)
        }),
      )
  program
    .command('scale')
    .description('run N instances of a role in all (new ones on the least loaded hosts that allow it)')
    .argument('<role>')
    .argument('<n>', 'instances', count)
    .addOption(serverOption())
    .addOption(tokenOption())
    .action((role: string, n: number, o: RemoteOptions) =>
      run(async () => {
        const r = (await callControl(o, 'POST', '/api/roles/scale', { role, instances: n })) as {
          added: string[]
          removed: string[]
        }
        console.log(`scaled ${role} to ${n}: added [${r.added.join(' ')}] removed [${r.removed.join(' ')}]`)
      }),
    )
  program
    .command('reload')
    .description('read the topology file again; only what changed is touched')
    .addOption(serverOption())
    .addOption(tokenOption())
    .action((o: RemoteOptions) =>
      run(async () => {
        await callControl(o, 'POST', '/api/roles/reload')
        console.log('reloaded')
      }),
    )
  program
    .command('rebalance')
    .description('move instances that failed over back to their home hosts (when those are up)')
    .addOption(serverOption())
    .addOption(tokenOption())
    .action((o: RemoteOptions) =>
      run(async () => {
        const r = (await callControl(o, 'POST', '/api/roles/rebalance')) as {
          moved: { instance: string; from: string; to: string }[]
        }
        console.log(
          r.moved.length === 0
            ? 'nothing to move'
            : r.moved.map((m) => `${m.instance}: ${m.from} → ${m.to}`).join('\n'),
        )
      }),
    )
  program
    .command('logs')
    .description("an instance's log from its agent: the last lines, then with --follow every new line")
    .argument('<instance>')
    .option('-n, --lines <n>', 'lines of the tail', count, 100)
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .addOption(serverOption())
    .addOption(tokenOption())
    .action((instance: string, o: RemoteOptions & { lines: number; follow?: boolean }) =>
      run(async () => {
        const print = (l: { at: number; stream: string; line: string }) =>
          console.log(`${new Date(l.at).toISOString().slice(11, 23)} ${l.stream} ${l.line}`)
        if (!o.follow) {
          const lines = (await callControl(
            o,
            'GET',
            `/api/roles/logs/${encodeURIComponent(instance)}?lines=${o.lines}`,
          )) as Parameters<typeof print>[0][]
          for (const l of lines) print(l)
          return
        }
        if (o.server === undefined) throw new RemoteCommandError('--server is required', 'DD_ERR_CONTROL')
        const res = await fetch(
          `${o.server.replace(/\/+$/, '')}/api/roles/logs/${encodeURIComponent(instance)}/follow?lines=${o.lines}`,
          {
            headers: o.token === undefined ? {} : { authorization: `Bearer ${o.token}` },
          },
        )
        if (!res.ok || res.body === null)
          throw new RemoteCommandError(`${res.status} ${await res.text()}`, `HTTP_${res.status}`)
        let partial = ''
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          partial += Buffer.from(chunk).toString('utf8')
          let nl = partial.indexOf('\n')
          while (nl >= 0) {
            print(JSON.parse(partial.slice(0, nl)))
            partial = partial.slice(nl + 1)
            nl = partial.indexOf('\n')
          }
        }
      }),
    )
}
