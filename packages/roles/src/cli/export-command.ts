import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { DripdropError } from '../errors.js'
import { exportTopology } from '../export/export-topology.js'
import { EXPORT_FORMATS, type ExportFormat } from '../export/types.js'
import { loadTopology } from '../topology/load.js'

/** One line for the `dripdrop` command table. */
export const exportSummary =
  'export --format kubernetes|compose|systemd [--out dir|-] [--image img] <topology>   render for another engine'

function program(): Command {
  return new Command('dripdrop export')
    .description(
      'Render a topology file for Kubernetes (kubernetes.yaml), Docker Compose (compose.yaml) or systemd (unit files per host).',
    )
    .argument('<topology>', 'topology file (YAML, JSON, or a TS/JS module)')
    .addOption(
      new Option('-f, --format <format>', 'what to render for').choices(EXPORT_FORMATS).makeOptionMandatory(),
    )
    .option('-o, --out <dir>', 'directory to write the files to, or - for stdout', '-')
    .option('--image <image>', 'container image holding the app (kubernetes, compose; default node:20-slim)')
    .option(
      '--root <dir>',
      'the app root: holds every entry module; entry paths are written relative to it',
      '.',
    )
    .option(
      '--workdir <path>',
      'where the app root is at run time (default /app in containers, the root for systemd)',
    )
    .option('-n, --namespace <namespace>', 'Kubernetes namespace for the objects and Service DNS names')
    .option('--node <path>', 'systemd: absolute path of node (default /usr/bin/node)')
    .option('--user <user>', 'systemd: run the units as this user')
    .showHelpAfterError('(dripdrop export --help lists the options)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
}

interface Parsed {
  format: ExportFormat
  out: string
  image?: string
  root: string
  workdir?: string
  namespace?: string
  node?: string
  user?: string
}

/**
 * `dripdrop export --format kubernetes|compose|systemd [--out dir|-] [--image img] [--root dir] [--workdir path]
 * [--namespace ns] [--node path] [--user user] <topology>`: renders the topology with {@link exportTopology} and
 * writes the files into `--out` (created when missing; files there are replaced), or prints them (`-`, the
 * default; several files are each headed by a `# ==> path <==` line). Exit codes: 0 written, 1 the topology or
 * the export failed, 2 bad usage.
 */
export async function exportCommand(args: string[]): Promise<number> {
  const cmd = program()
  try {
    cmd.parse(args, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    throw err
  }
  const opts = cmd.opts<Parsed>()
  const file = cmd.args[0]
  const toStdout = opts.out === '-'
  try {
    const topology = await loadTopology(file)
    const files = exportTopology(topology, {
      format: opts.format,
      root: opts.root,
      ...(opts.image === undefined ? {} : { image: opts.image }),
      ...(opts.workdir === undefined ? {} : { workdir: opts.workdir }),
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
      ...(opts.node === undefined ? {} : { node: opts.node }),
      ...(opts.user === undefined ? {} : { user: opts.user }),
      ...(toStdout ? {} : { outDir: resolve(opts.out) }),
    })
    if (toStdout) {
      const many = files.length > 1
      for (const f of files) process.stdout.write(many ? `# ==> ${f.path} <==\n${f.content}\n` : f.content)
      return 0
    }
    for (const f of files) {
      const path = join(opts.out, f.path)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, f.content)
      console.log(`wrote ${path}`)
    }
    return 0
  } catch (err) {
    const code = err instanceof DripdropError ? `${err.code}: ` : ''
    console.error(`dripdrop export: ${code}${(err as Error).message}`)
    return 1
  }
}
