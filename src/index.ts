// The explicit oclif command map, and the hooks package.json names: no discovery from disk, so the
// program bundles into one binary.

import Audit from './commands/audit.ts'
import Autocomplete from './commands/autocomplete.ts'
import Bench from './commands/bench.ts'
import Chmod from './commands/chmod.ts'
import Chown from './commands/chown.ts'
import CompleteNames from './commands/complete-names.ts'
import ConfigGet from './commands/config/get.ts'
import ConfigList from './commands/config/list.ts'
import ConfigSet from './commands/config/set.ts'
import ConfigUnset from './commands/config/unset.ts'
import Directory from './commands/directory.ts'
import Edit from './commands/edit.ts'
import FileServer from './commands/fileserver.ts'
import Get from './commands/get.ts'
import Help from './commands/help.ts'
import Lock from './commands/lock.ts'
import Log from './commands/log.ts'
import GroupAdd from './commands/group/add.ts'
import GroupList from './commands/group/list.ts'
import GroupRm from './commands/group/rm.ts'
import Login from './commands/login.ts'
import Logout from './commands/logout.ts'
import Ls from './commands/ls.ts'
import Proxy from './commands/proxy.ts'
import Put from './commands/put.ts'
import Repair from './commands/repair.ts'
import Restore from './commands/restore.ts'
import Rm from './commands/rm.ts'
import ShellCommand from './commands/shell.ts'
import Stat from './commands/stat.ts'
import Status from './commands/status.ts'
import NodeDrain from './commands/node/drain.ts'
import NodeList from './commands/node/list.ts'
import NodeRm from './commands/node/rm.ts'
import TokenCreate from './commands/token/create.ts'
import TokenList from './commands/token/list.ts'
import TokenRevoke from './commands/token/revoke.ts'
import Up from './commands/up.ts'
import UserAdd from './commands/user/add.ts'
import UserList from './commands/user/list.ts'
import UserPasswd from './commands/user/passwd.ts'
import UserRm from './commands/user/rm.ts'
import Version from './commands/version.ts'
import Watch from './commands/watch.ts'
import Write from './commands/write.ts'

export { commandNotFound } from './cli/command-not-found.ts'

export const COMMANDS = {
  help: Help,
  version: Version,
  directory: Directory,
  fileserver: FileServer,
  proxy: Proxy,
  up: Up,
  login: Login,
  logout: Logout,
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
  shell: ShellCommand,
  'token:create': TokenCreate,
  'token:list': TokenList,
  'token:revoke': TokenRevoke,
  'node:list': NodeList,
  'node:drain': NodeDrain,
  'node:rm': NodeRm,
  chmod: Chmod,
  chown: Chown,
  'user:add': UserAdd,
  'user:rm': UserRm,
  'user:list': UserList,
  'user:passwd': UserPasswd,
  'group:add': GroupAdd,
  'group:rm': GroupRm,
  'group:list': GroupList,
  'config:get': ConfigGet,
  'config:set': ConfigSet,
  'config:list': ConfigList,
  'config:unset': ConfigUnset,
  audit: Audit,
  bench: Bench,
  autocomplete: Autocomplete,
  '__complete-names': CompleteNames,
}
