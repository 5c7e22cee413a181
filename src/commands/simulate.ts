import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import { EtlError } from '../errors.js'

/** The project root: one folder above src/ (run through tsx) or dist/ (built). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * `simulate`: the built-in simulators on their own. They are not part of the built product
 * (tsconfig.build.json), so they are loaded from the sources through tsx, in a checkout or an
 * installed package alike.
 */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('start the built-in GetCourse and KWIGA simulators (the demo data) until Ctrl-C, and write a config pointing at them')
    .option('--config-out <file>', 'config file to write for them', 'simulate.config.yaml')
    .option('--data-dir <dir>', 'dataDir of that config', './.data')
    .action(async (o: { configOut: string; dataDir: string }) => {
      const entry = path.join(ROOT, 'src', 'demo', 'simulate.ts')
      if (!existsSync(entry)) throw new EtlError('USAGE', `the simulators ship with the sources only (${entry} is missing)`)
      if (!import.meta.url.endsWith('.ts')) {
        const { register } = await import('tsx/esm/api')
        register()
      }
      const mod = (await import(pathToFileURL(entry).href)) as {
        runSimulators(o: { configOut: string; dataDir: string; withDatabase: boolean; print(l: string): void }, signal: AbortSignal): Promise<void>
      }
      const controller = new AbortController()
      process.once('SIGINT', () => controller.abort())
      process.once('SIGTERM', () => controller.abort())
      await mod.runSimulators(
        { configOut: o.configOut, dataDir: o.dataDir, withDatabase: Boolean(process.env.DATABASE_URL), print: (l) => process.stdout.write(`${l}\n`) },
        controller.signal,
      )
    })
}
