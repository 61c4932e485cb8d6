// `npm run package`: the whole program as one standalone executable, dist-bin/dfs, built offline.
//
// 1. esbuild bundles src/ (and every dependency) into one ESM file, dist-bin/app/dfs.mjs, that both
//    exports COMMANDS and starts oclif. oclif reads the command map by importing that same module, so
//    the bundle starts oclif without a top-level await (awaiting would deadlock on the self-import),
//    and hands oclif its package.json "oclif" section directly, so nothing is read from disk for it.
//    The esbuild settings and the entry are scripts/bundle.ts's, shared with the npm install's bundle.
// 2. pkg's SEA mode (a package.json input: the "enhanced" pipeline, whose bootstrap can load an ESM
//    entry) injects that file into a copy of a Node binary. pkg would download that Node binary; its
//    cache is seeded with the Node running this script instead, so nothing is fetched.
//
// Idempotent: every run rebuilds dist-bin/ from the sources and replaces the binary.

import { spawn } from 'node:child_process'
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { bundleCli, cliEntry, cliPackageJson, root, type CliPackageJson } from './bundle.ts'

const outDir = join(root, 'dist-bin')
const stageDir = join(outDir, 'app')
const bundleName = 'dfs.mjs'
const bundlePath = join(stageDir, bundleName)
const binary = join(outDir, process.platform === 'win32' ? 'dfs.exe' : 'dfs')

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', (code, signal) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`)),
    )
  })
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

/** The package.json the binary carries: pkg takes its entry from `bin`, oclif its section from it. */
async function binaryPackageJson(): Promise<CliPackageJson & { bin: Record<string, string> }> {
  const pjson = await cliPackageJson(`./${bundleName}`)
  return { ...pjson, bin: { [pjson.name]: `./${bundleName}` } }
}

async function bundle(pjson: CliPackageJson): Promise<void> {
  // One file that is both the entry and the command target: the layout pkg's SEA mode is known to run.
  const metafile = await bundleCli(cliEntry({ pjson, rootFromHere: './', selfTarget: true }), {
    outfile: bundlePath,
  })
  const inputs = Object.keys(metafile.inputs).length
  console.log(`package: bundled ${inputs} modules into ${relative(root, bundlePath)}`)
}

/** pkg's SEA mode wants ~/.pkg-cache/sea/node-<v>-<os>-<arch>{.tar.gz,/bin/node}: seed it with this Node. */
async function seedPkgCache(): Promise<string> {
  const os = process.platform === 'darwin' ? 'darwin' : process.platform
  if (os !== 'linux' && os !== 'darwin') throw new Error(`packaging on ${os} is not supported`)
  const name = `node-${process.version}-${os}-${process.arch}`
  const cache = join(homedir(), '.pkg-cache', 'sea')
  const node = join(cache, name, 'bin', 'node')
  const archive = join(cache, `${name}.tar.gz`)
  const ready =
    (await exists(`${node}.ok`)) &&
    (await exists(archive)) &&
    (await exists(`${archive}.ok`)) &&
    (await stat(node).then(
      (s) => s.size > 0,
      () => false,
    ))
  if (!ready) {
    await mkdir(dirname(node), { recursive: true })
    await copyFile(process.execPath, node)
    // pkg skips the download when the archive and its sentinel exist, and the extraction when the
    // binary and its sentinel do; the archive itself is never read then.
    if (!(await exists(archive))) await writeFile(archive, '')
    for (const sentinel of [`${archive}.ok`, `${node}.ok`]) await writeFile(sentinel, '')
    console.log(`package: seeded ${node} from ${process.execPath}`)
  }
  const target = `node${process.versions.node}-${os === 'darwin' ? 'macos' : os}-${process.arch}`
  return target
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 22)
    throw new Error(`packaging needs Node 22 or newer (pkg's SEA mode); this is ${process.version}`)

  await rm(stageDir, { recursive: true, force: true })
  await rm(binary, { force: true })
  await mkdir(stageDir, { recursive: true })

  const pjson = await binaryPackageJson()
  await writeFile(join(stageDir, 'package.json'), `${JSON.stringify(pjson, null, 2)}\n`)
  await bundle(pjson)

  const target = await seedPkgCache()
  const pkgBin = join(
    dirname(createRequire(import.meta.url).resolve('@yao-pkg/pkg/package.json')),
    'lib-es5/bin.js',
  )
  await run(process.execPath, [
    pkgBin,
    relative(root, stageDir),
    '--sea',
    '-t',
    target,
    '-o',
    relative(root, binary),
  ])

  const size = (await stat(binary)).size
  console.log(
    `package: built ${relative(root, binary)} (${target}), ${mib(size)} (${size} bytes), in ${elapsed()}`,
  )
}

main().catch((error: unknown) => {
  console.error(`package: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
