/**
 * A vitest reporter that lists, after the run, every test skipped with a reason (`ctx.skip(reason)`), e.g.
 * the network-namespace row of the zmq location matrix where `ip netns` is refused. vitest's default
 * reporter only counts skipped tests; this puts each one and why in the summary, next to the counts.
 * Tests left out by a filter (`-t`, `--project`) have no reason and are not listed.
 */
import { relative } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

export default class SkipReasonsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = []
    for (const mod of testModules)
      for (const test of mod.children.allTests('skipped')) {
        const result = test.result()
        const note = result.state === 'skipped' ? result.note : undefined
        if (note)
          lines.push(
            `  ↓ [${test.project.name}] ${relative(process.cwd(), mod.moduleId)} > ${test.fullName}: ${note}`,
          )
      }
    if (lines.length > 0) process.stdout.write(`\n Skipped, with their reasons:\n${lines.join('\n')}\n`)
  }
}
