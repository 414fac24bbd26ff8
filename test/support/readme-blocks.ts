/**
 * Extracts the code blocks of the READMEs so that test/readme.test.ts can typecheck and run them.
 *
 * Markers (all invisible or nearly so on GitHub and npm):
 * - ` ```ts ` a TypeScript block: typechecked with `tsc --strict` (no skipLibCheck) as its own module.
 * - ` ```ts run ` also run with tsx in a child process; it must exit 0 within the timeout (so it closes what
 *   it opens).
 * - ` ```ts file=tasks.ts ` names the block's file; the blocks of one README share a directory, so a block
 *   can import another (`import tasks from './tasks.js'`). Attributes combine: ` ```ts run file=main.ts `.
 * - An HTML comment `<!-- doctest: setup` … `-->` before a block holds hidden lines put before it (the imports
 *   and `declare const node: Node` a fragment takes from its context); `<!-- doctest: teardown` … `-->` after a
 *   block holds lines put after it (closing what a previous block opened). Keep them to plumbing: what the
 *   reader is meant to learn stays visible.
 * - Blocks that are not code are labelled with what they are: `sh`, `text` (output), `json`. A bare
 *   ` ``` ` fence is refused, so nothing escapes the check by omission.
 * - ` ```html ` blocks are pages; the code of their `<script type="module">` is typechecked like a ts block
 *   (a setup comment may precede the html block), with an import of the served browser client
 *   (`…/dripdrop-client.js`) read as `@dripdrop/bridges/browser`, the same file with its types.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** Fence languages that are not TypeScript and are not checked. */
export const UNCHECKED_LANGS = new Set(['sh', 'text', 'json', 'yaml', 'html'])

export interface CodeBlock {
  /** README path relative to the repo root. */
  readme: string
  /** 1-based README line of the opening fence. */
  line: number
  lang: string
  run: boolean
  /** File name inside the README's directory, `block-<line>.ts` unless `file=` names it. */
  file: string
  code: string
  setup: string
  teardown: string
}

/** Every README the docs-as-tests check covers: the root one and each package's and app's. */
export function readmePaths(root: string): string[] {
  const found = ['README.md']
  for (const dir of ['packages', 'apps']) {
    if (!existsSync(join(root, dir))) continue
    for (const name of readdirSync(join(root, dir)).sort())
      if (existsSync(join(root, dir, name, 'README.md'))) found.push(`${dir}/${name}/README.md`)
  }
  return found
}

const FENCE = /^```(.*)$/
const COMMENT = /^<!-- doctest: (setup|teardown)\s*$/

/** Splits one README into code blocks; throws on a malformed marker so a typo cannot skip a block. */
export function parseReadme(readme: string, text: string): CodeBlock[] {
  const lines = text.split('\n')
  const blocks: CodeBlock[] = []
  let pendingSetup = ''
  for (let i = 0; i < lines.length; i++) {
    const comment = COMMENT.exec(lines[i])
    if (comment) {
      const end = lines.indexOf('-->', i + 1)
      if (end < 0) throw new Error(`${readme}:${i + 1}: doctest comment without a closing --> line`)
      const body = lines.slice(i + 1, end).join('\n')
      if (comment[1] === 'setup') pendingSetup += `${body}\n`
      else {
        const last = blocks.at(-1)
        if (last?.lang !== 'ts') throw new Error(`${readme}:${i + 1}: teardown after no ts block`)
        last.teardown += `${body}\n`
      }
      i = end
      continue
    }
    const fence = FENCE.exec(lines[i])
    if (!fence) continue
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'))
    if (end < 0) throw new Error(`${readme}:${i + 1}: unclosed code fence`)
    const [lang = '', ...attrs] = fence[1].trim().split(/\s+/).filter(Boolean)
    if (lang !== 'ts' && !UNCHECKED_LANGS.has(lang))
      throw new Error(
        `${readme}:${i + 1}: code fence language ${JSON.stringify(lang)}: use ts, or one of ${[...UNCHECKED_LANGS].join(', ')} for what is not code`,
      )
    const block: CodeBlock = {
      readme,
      line: i + 1,
      lang,
      run: false,
      file: `block-${i + 1}.ts`,
      code: lines.slice(i + 1, end).join('\n'),
      setup: '',
      teardown: '',
    }
    for (const attr of attrs) {
      if (lang !== 'ts') throw new Error(`${readme}:${i + 1}: attributes are for ts blocks only`)
      if (attr === 'run') block.run = true
      else if (attr.startsWith('file=') && attr.endsWith('.ts')) block.file = attr.slice(5)
      else throw new Error(`${readme}:${i + 1}: unknown code fence attribute ${JSON.stringify(attr)}`)
    }
    if (pendingSetup && lang !== 'ts' && lang !== 'html')
      throw new Error(`${readme}:${i + 1}: doctest setup before a ${lang} block`)
    block.setup = pendingSetup
    pendingSetup = ''
    blocks.push(block)
    if (lang === 'html') blocks.push(...moduleScripts(block))
    i = end
  }
  if (pendingSetup) throw new Error(`${readme}: doctest setup after the last block`)
  return blocks
}

/** The `<script type="module">` elements of an html block, as ts blocks (README lines kept). */
function moduleScripts(html: CodeBlock): CodeBlock[] {
  const lines = html.code.split('\n')
  const scripts: CodeBlock[] = []
  for (let k = 0; k < lines.length; k++) {
    if (!/<script type="module">\s*$/.test(lines[k])) continue
    const end = lines.findIndex((l, j) => j > k && l.includes('</script>'))
    if (end < 0) throw new Error(`${html.readme}:${html.line + 1 + k}: <script> without </script>`)
    scripts.push({
      ...html,
      lang: 'ts',
      // The script tag's line stands where a fence would: the code starts on the next line.
      line: html.line + 1 + k,
      file: `block-${html.line + 1 + k}-script.ts`,
      code: lines
        .slice(k + 1, end)
        .join('\n')
        .replace(/(from\s+)'[^']*\/dripdrop-client\.js'/g, "$1'@dripdrop/bridges/browser'"),
    })
    k = end
  }
  return scripts
}

/** The module written for a block, and how to map its lines back to the README. */
export function moduleSource(block: CodeBlock): { source: string; firstCodeLine: number; codeLines: number } {
  const setupLines = block.setup ? block.setup.split('\n').length - 1 : 0
  const codeLines = block.code.split('\n').length
  return {
    source: `${block.setup}${block.code}\n${block.teardown}`,
    firstCodeLine: setupLines + 1,
    codeLines,
  }
}
