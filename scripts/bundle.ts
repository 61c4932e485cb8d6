// esbuild bundles of the CLI: what `npm run build` makes for the npm install (`node scripts/bundle.ts`:
// dist/bundle/, which bin/run.js runs) and what `npm run package` injects into the standalone binary.
//
// The npm bundle is split: dfs.js answers `--version` itself (src/cli/quick-version.ts), runs a plain
// `put`, `get` or `write` without oclif (src/cli/quick-command.ts), and otherwise loads oclif; commands.js (the oclif command target, src/index.ts) and the chunks it imports load
// only when a command runs, and the role servers (Fastify, node-forge, pg) only when a role command
// imports them. `--help` is answered from oclif.manifest.json without loading any command.
//
// Both bundles hand oclif the package.json "oclif" section directly (src/cli/run-oclif.ts), with the
// bundle as the command target, so oclif reads no package.json and never looks for TypeScript sources.

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild'
import { embedUi } from './embed-ui.ts'

export const root = resolve(import.meta.dirname, '..')

interface PackageJson {
  name: string
  version: string
  description?: string
  license?: string
  oclif: Record<string, unknown>
}

export type CliPackageJson = PackageJson & { type: 'module' }

/** The package.json a bundle hands oclif: identity and the oclif section, with `target` as command target. */
export async function cliPackageJson(target: string): Promise<CliPackageJson> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as PackageJson
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    type: 'module',
    oclif: {
      ...pkg.oclif,
      commands: { strategy: 'explicit', target, identifier: 'COMMANDS' },
      hooks: bundledHooks(pkg.oclif.hooks, target),
    },
  }
}

type HookTargets = Record<string, { target: string; identifier: string }>

/** package.json's hooks (exported by the command target, src/index.ts), with the bundle as target. */
function bundledHooks(hooks: unknown, target: string): HookTargets {
  return Object.fromEntries(
    Object.entries((hooks ?? {}) as HookTargets).map(([event, hook]) => [event, { ...hook, target }]),
  )
}

/**
 * The entry module's source: `dfs --version` answered at once, a plain `dfs put`, `get` or `write` run
 * by the quick path (src/cli/quick-command.ts), else oclif started with `pjson` on the
 * package root `rootFromHere` (a URL relative to the bundle). oclif is started without a top-level
 * await: a command still waiting when the event loop empties (on a 'drain' from a reader that went
 * away) would otherwise end with Node's "Detected unsettled top-level await" and status 13; and when
 * the entry is itself the command target (the binary's single file), oclif imports it while it
 * runs, and awaiting would wait on that self-import for the very evaluation that waits for it.
 */
export function cliEntry(options: {
  pjson: CliPackageJson
  rootFromHere: string
  selfTarget: boolean
}): string {
  const start = `import('./src/cli/run-oclif.ts').then(({ runOclif }) => runOclif(root, pjson))`
  // oclif's config.bin: the program a usage error tells the user to ask for help.
  const bin = String(options.pjson.oclif.bin ?? options.pjson.name)
  return `
    import { resolve } from 'node:path'
    import { fileURLToPath } from 'node:url'
    import { stopWhenStdoutCloses } from './src/cli/broken-pipe.ts'
    import { quickCommand } from './src/cli/quick-command.ts'
    import { quickVersion } from './src/cli/quick-version.ts'
    ${options.selfTarget ? "export { COMMANDS, commandNotFound } from './src/index.ts'" : ''}
    stopWhenStdoutCloses()
    const pjson = ${JSON.stringify(options.pjson)}
    const root = resolve(fileURLToPath(new URL(${JSON.stringify(options.rootFromHere)}, import.meta.url)))
    const argv = process.argv.slice(2)
    const version = quickVersion(argv, pjson)
    const quick = version ? undefined : quickCommand(argv)
    if (version) process.stdout.write(version + '\\n')
    else if (quick) void import('./src/cli/quick-run.ts').then(({ runQuick }) => runQuick(quick, ${JSON.stringify(bin)}))
    else void ${start}
  `
}

/**
 * oclif sorts the command ids with localeCompare as it loads its one plugin, which pages in ICU's
 * collation data and code: 3.4 MB more RSS in every process that goes through oclif, every role
 * included, for 45 ASCII ids whose order is the same by code units (help lists them in the same
 * order either way: npm-install.test.ts compares the bundle's help with dist/'s, which runs oclif
 * unchanged). The build fails if oclif's code no longer reads as expected.
 */
function plainCommandSort(): Plugin {
  const file = /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/
  const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
  return {
    name: 'dfs-plain-command-sort',
    setup(b) {
      b.onLoad({ filter: file }, async ({ path }) => {
        const source = await readFile(path, 'utf8')
        if (!source.includes(sort)) throw new Error(`${path}: oclif no longer sorts commands as ${sort}`)
        return {
          contents: source.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'),
          loader: 'js',
        }
      })
    },
  }
}

/** Resolves `import 'dfs-entry'` to `source`, so the entry needs no file on disk. */
function virtualEntry(source: string): Plugin {
  return {
    name: 'dfs-entry',
    setup(b) {
      b.onResolve({ filter: /^dfs-entry$/ }, () => ({ path: 'dfs-entry.ts', namespace: 'dfs-entry' }))
      b.onLoad({ filter: /.*/, namespace: 'dfs-entry' }, () => ({
        contents: source,
        loader: 'ts',
        resolveDir: root,
      }))
    },
  }
}

/** esbuild with the settings every dfs bundle shares; `entry` is the source of the `dfs` entry point. */
export async function bundleCli(
  entry: string,
  options: Pick<BuildOptions, 'outfile' | 'outdir' | 'splitting' | 'chunkNames'> & {
    entryPoints?: Record<string, string>
  },
): Promise<Metafile> {
  const { entryPoints, ...rest } = options
  const result = await build({
    entryPoints: { dfs: 'dfs-entry', ...entryPoints },
    plugins: [virtualEntry(entry), embedUi(), plainCommandSort()],
    ...rest,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // CommonJS dependencies call require() for node built-ins; an ESM file has no require of its own.
    banner: {
      js: "import { createRequire as __dfsCreateRequire } from 'node:module';\nconst require = __dfsCreateRequire(import.meta.url);",
    },
    // Only oclif's TypeScript-source lookup (off: src/cli/run-oclif.ts) requires the compiler, in a try:
    // 9 MB saved. pg's optional native binding (pg-native) is only loaded when asked for, which dfs
    // never does.
    external: ['typescript', 'pg-native'],
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  })
  for (const file of Object.keys(result.metafile.outputs))
    if (file.endsWith('.js')) await latin1Only(resolve(root, file))
  return result.metafile
}

/**
 * Rewrites what esbuild left beyond Latin-1 (it escapes strings, templates, regular expressions and
 * names, but keeps comments as they are: undici's have typographic quotes) as \u escapes. V8 keeps a
 * script's source in the heap of every process that loads it, one byte a character when each fits,
 * else two: the 2.4 MB chunk with Fastify and undici took 4.7 MB of every role's heap, for the
 * quotes in 34 lines of comments. An escape means the same character in any place it could be
 * left, and is text in a comment.
 */
async function latin1Only(file: string): Promise<void> {
  const source = await readFile(file, 'utf8')
  if (!/[\u0100-\uffff]/.test(source)) return
  await writeFile(
    file,
    source.replace(/[\u0100-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`),
  )
}

/** Package name of a bundled input path, or `dfs` for the project's own sources. */
function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)
  return match?.[1] ?? 'dfs'
}

/**
 * What each output file of the npm bundle holds, by package (bytes of each), so a test can tell
 * which packages a command loaded from the chunks it loaded.
 */
export function contentsOf(metafile: Metafile, outDir: string): Record<string, Record<string, number>> {
  const contents: Record<string, Record<string, number>> = {}
  for (const [file, output] of Object.entries(metafile.outputs)) {
    const packages: Record<string, number> = {}
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(input)
      packages[name] = (packages[name] ?? 0) + bytesInOutput
    }
    contents[relative(outDir, resolve(root, file))] = packages
  }
  return contents
}

export const bundleDir = join(root, 'dist', 'bundle')

/** dist/bundle/: the split bundle bin/run.js runs, and contents.json describing its files. */
async function bundleForNpm(): Promise<void> {
  const started = Date.now()
  const pjson = await cliPackageJson('./dist/bundle/commands.js')
  await rm(bundleDir, { recursive: true, force: true })
  await mkdir(bundleDir, { recursive: true })
  const metafile = await bundleCli(cliEntry({ pjson, rootFromHere: '../..', selfTarget: false }), {
    entryPoints: { commands: join(root, 'src', 'index.ts') },
    outdir: bundleDir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  })
  const contents = contentsOf(metafile, bundleDir)
  await writeFile(join(bundleDir, 'contents.json'), `${JSON.stringify(contents, null, 1)}\n`)
  const inputs = Object.keys(metafile.inputs).length
  const files = Object.keys(contents).length
  console.log(
    `bundle: ${inputs} modules into ${files} files in ${relative(root, bundleDir)}/, in ${Date.now() - started} ms`,
  )
}

if (import.meta.main) {
  bundleForNpm().catch((error: unknown) => {
    console.error(`bundle: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  })
}
