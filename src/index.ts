// The explicit oclif command map: no discovery from disk, so the program bundles into one binary.

import Directory from './commands/directory.ts'
import Edit from './commands/edit.ts'
import FileServer from './commands/fileserver.ts'
import Get from './commands/get.ts'
import Lock from './commands/lock.ts'
import Log from './commands/log.ts'
import Login from './commands/login.ts'
import Ls from './commands/ls.ts'
import Proxy from './commands/proxy.ts'
import Put from './commands/put.ts'
import Repair from './commands/repair.ts'
import Restore from './commands/restore.ts'
import Rm from './commands/rm.ts'
import Stat from './commands/stat.ts'
import Status from './commands/status.ts'
import NodeDrain from './commands/node/drain.ts'
import NodeList from './commands/node/list.ts'
import NodeRm from './commands/node/rm.ts'
import TokenCreate from './commands/token/create.ts'
import TokenList from './commands/token/list.ts'
import TokenRevoke from './commands/token/revoke.ts'
import Up from './commands/up.ts'
import Watch from './commands/watch.ts'
import Write from './commands/write.ts'

export const COMMANDS = {
  directory: Directory,
  fileserver: FileServer,
  proxy: Proxy,
  up: Up,
  login: Login,
  put: Put,
  get: Get,
  edit: Edit,
  write: Write,
  lock: Lock,
  ls: Ls,
  stat: Stat,
  rm: Rm,
  status: Status,
  log: Log,
  restore: Restore,
  repair: Repair,
  watch: Watch,
  'token:create': TokenCreate,
  'token:list': TokenList,
  'token:revoke': TokenRevoke,
  'node:list': NodeList,
  'node:drain': NodeDrain,
  'node:rm': NodeRm,
}
