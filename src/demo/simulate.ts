import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { configYaml } from '../demo.js'
import { DEMO_ACCOUNTS, DEMO_LIMITS, DEMO_SIZES, startDemoSimulators } from './simulators.js'

export interface SimulateOptions {
  /** Config file written for the simulators (their ports change every start). */
  configOut: string
  /** Warehouse URL to put in the config (`${DATABASE_URL}`); absent → the embedded database. */
  withDatabase: boolean
  dataDir: string
  print(line: string): void
}

/**
 * `course-etl simulate`: the demo's GetCourse and KWIGA simulators on loopback, on their own, until
 * Ctrl-C, with a config pointing at them, so `sync`, `status`, `schedule` can be tried by hand.
 */
export async function runSimulators(options: SimulateOptions, signal: AbortSignal): Promise<void> {
  const { getcourse: gc, kwiga: kw } = DEMO_ACCOUNTS
  const env = {
    [gc.keyEnv]: process.env[gc.keyEnv] || gc.key,
    [kw.tokenEnv]: process.env[kw.tokenEnv] || kw.token,
    [kw.hashEnv]: process.env[kw.hashEnv] || kw.hash,
  }
  const sims = await startDemoSimulators(DEMO_SIZES, env)
  try {
    const file = path.resolve(options.configOut)
    await writeFile(file, configYaml({ getcourse: sims.getcourseUrl, kwiga: sims.kwigaUrl }, options.withDatabase, options.dataDir))
    const rel = path.relative(process.cwd(), file) || file
    const b = DEMO_LIMITS.getcourseBudget
    options.print(
      `GetCourse simulator: ${sims.getcourseUrl} (account ${gc.name}, ${DEMO_SIZES.getcourse.users} users, budget ${b.requests} requests / ${b.windowSeconds} s)`,
    )
    options.print(`KWIGA simulator:     ${sims.kwigaUrl} (cabinet ${kw.name}, ${DEMO_SIZES.kwiga.contacts} contacts)`)
    options.print(`config: ${rel}${options.withDatabase ? ' (warehouse: $DATABASE_URL)' : ' (embedded warehouse)'}`)
    options.print('try, in another terminal:')
    options.print(`  npx course-etl -c ${rel} check`)
    options.print(`  npx course-etl -c ${rel} sync`)
    options.print(`  npx course-etl -c ${rel} status`)
    options.print(`  npx course-etl -c ${rel} schedule --run nightly`)
    options.print('Ctrl-C stops the simulators.')
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
  } finally {
    await sims.close()
  }
}
