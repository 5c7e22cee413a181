import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Bench, Figure } from './support.js'

const ROOT = path.resolve('.')
const TIME = '/usr/bin/time'

/**
 * The embedded path as a new user meets it (issue 17): `npm run demo` in a fresh checkout (an empty
 * `.data/`: the shipped PGlite template, the simulators in a child process, the full sync, the CSV
 * dumps), then `dump --all` of that warehouse in each format, from the checkout (bin/course-etl.js
 * bundles the sources with esbuild until `npm run build`) and from the built CLI (what the image
 * runs). Wall time and the peak
 * RSS of the largest process come from GNU time (`%e`, `%M`: the launchers npm and tsx are separate,
 * smaller processes). Sizes are the demo's own; `--scale` does not apply.
 */
export const bench: Bench = {
  name: 'embedded',
  order: 60,
  async run() {
    if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed: apt-get install time`)
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-embedded-'))
    try {
      // A fresh checkout: the project's files, no .data, no dist.
      for (const f of ['src', 'migrations', 'assets', 'node_modules', 'jobs']) symlinkSync(path.join(ROOT, f), path.join(dir, f))
      mkdirSync(path.join(dir, 'bin'))
      for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'bin/course-etl.js']) copyFileSync(path.join(ROOT, f), path.join(dir, f))

      const demo = timed(dir, 'npm', ['run', 'demo'])
      const inside = /demo finished in ([\d.]+) s/.exec(demo.out)
      if (!inside) throw new Error(`npm run demo did not finish:\n${demo.out.slice(-3000)}`)
      const figures: Figure[] = [
        {
          name: 'first `npm run demo`, fresh checkout: wall time',
          value: demo.seconds,
          unit: 's',
          target: { op: '<=', value: 30, of: 'value' },
          note: `the whole command (npm included); the demo itself said ${inside[1]} s`,
        },
        {
          name: 'first `npm run demo`: peak RSS of the largest process',
          value: demo.mb,
          unit: 'MB',
          target: { op: '<=', value: 500, of: 'value' },
          note: 'GNU time %M over the process tree',
        },
      ]
      const formats: [string, string[]][] = [
        ['CSV', []],
        ['CSV --excel --gzip', ['--excel', '--gzip']],
        ['xlsx', ['--xlsx']],
      ]
      const dumps = (how: string) => {
        for (const [label, flags] of formats) {
          const out = path.join(dir, `dump-${how}-${label.replace(/\W+/g, '-')}`)
          const d = timed(dir, process.execPath, ['bin/course-etl.js', '--config', 'demo-out/etl.config.yaml', 'dump', '--all', ...flags, '--out-dir', out])
          figures.push({
            name: `dump --all (${label}) of the demo warehouse, ${how}: peak RSS`,
            value: d.mb,
            unit: 'MB',
            target: { op: '<=', value: 300, of: 'value' },
            note: `${d.seconds.toFixed(1)} s`,
          })
        }
      }
      dumps('checkout (bin bundles the sources)')
      execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' })
      dumps('built CLI (npm run build)')
      return figures
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  },
}

function timed(cwd: string, command: string, args: string[]): { seconds: number; mb: number; out: string } {
  const report = path.join(cwd, `.time-${Date.now()}`)
  const out = execFileSync(TIME, ['-f', '%e %M', '-o', report, command, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, LOG_LEVEL: 'warn', CI: '', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [seconds, kb] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
  rmSync(report, { force: true })
  return { seconds: seconds!, mb: kb! / 1024, out }
}
