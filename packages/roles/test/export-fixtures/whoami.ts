// A role's entry module for test/export-run.test.ts: prints who role() says this process is, its args and one
// env variable, as JSON on one line, then exits. The same module runs under every exported engine's launch.
import { role } from '../../src/index.js'

const me = await role()
console.log(
  JSON.stringify({
    app: me.app,
    role: me.role,
    instance: me.instance,
    host: me.host,
    control: me.control,
    addresses: me.addresses,
    args: process.argv.slice(2),
    note: process.env.NOTE,
    cwd: process.cwd(),
  }),
)
me.close()
