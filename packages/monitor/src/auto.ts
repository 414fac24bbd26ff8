/**
 * `import '@dripdrop/monitor/auto'` (or `node --import @dripdrop/monitor/auto app.js`): reports every node of
 * this process to `DRIPDROP_COLLECTOR` as `DRIPDROP_ROLE` / `DRIPDROP_INSTANCE`, with no code change. Does
 * nothing when `DRIPDROP_COLLECTOR` is not set.
 */
import { installAuto } from './reporter/monitor.js'

installAuto()
