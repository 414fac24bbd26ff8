import { existsSync, readdirSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

// One vitest run for the whole monorepo: each package and app is a project named after its folder,
// so `vitest run --project core` runs one package and the root `pnpm test` runs them all. An app named like a
// package (apps/loadtester beside packages/loadtester) is the project `<name>-app`.
const roots = ['packages', 'apps'].flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => existsSync(`${dir}/${name}/test`))
        .map((name) => `${dir}/${name}`)
    : [],
)

function projectName(root: string): string {
  const [dir, name] = root.split('/') as [string, string]
  return dir === 'apps' && roots.includes(`packages/${name}`) ? `${name}-app` : name
}

export default defineConfig({
  test: {
    projects: [
      ...roots.map((root) => ({
        extends: true as const,
        test: { name: projectName(root), root, include: ['test/**/*.test.ts'] },
      })),
      { extends: true as const, test: { name: 'repo', root: '.', include: ['test/**/*.test.ts'] } },
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
