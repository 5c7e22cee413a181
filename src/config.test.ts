import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { interpolateEnv, loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { redact } from './log.js'

const dir = mkdtempSync(path.join(tmpdir(), 'etl-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
/** Write `yaml` to a fresh file and load it with exactly `env` as the environment. */
const load = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
  const file = path.join(dir, `etl-${++files}.yaml`)
  writeFileSync(file, yaml)
  return loadConfig({ path: file, env })
}

const account = (key: string) => ['getcourse:', '  - name: acme', '    account: acme', `    key: ${key}`, ''].join('\n')

describe('${VAR} substitution', () => {
  it('keeps a secret containing " #" whole (YAML would read the rest as a comment)', () => {
    const key = 'abcdefgh #ijklmnop'
    const config = load(account('${GC_KEY}'), { GC_KEY: key })
    expect(config.getcourse[0]!.key).toBe(key)
    expect(redact(`sent ${key}`)).toBe('sent [REDACTED]')
  })

  it('keeps a value with a newline one string: it adds no key and cannot set another field', () => {
    const config = load('dataDir: ${DATA_DIR}\n', { DATA_DIR: 'x\nfoo: bar' })
    // A relative dataDir is resolved against the config file's folder.
    expect(config.dataDir).toBe(path.join(dir, 'x\nfoo: bar'))
    expect(Object.keys(config)).not.toContain('foo')

    const sneaky = 'x\ndatabase: postgres://attacker@evil.example/db'
    const other = load('dataDir: ${DATA_DIR}\n', { DATA_DIR: sneaky })
    expect(other.dataDir).toBe(path.join(dir, sneaky))
    expect(other.database).toBeUndefined()
  })

  it('keeps quotes, braces, colons and flow syntax literal', () => {
    const key = `a": 1, "b": [}{'x'] &anchor *alias !!binary`
    expect(load(account('"${GC_KEY}"'), { GC_KEY: key }).getcourse[0]!.key).toBe(key)
    expect(load(account('${GC_KEY}'), { GC_KEY: key }).getcourse[0]!.key).toBe(key)
  })

  it('uses ${VAR:-default} when the variable is unset or empty, the variable when set', () => {
    const yaml = 'database: ${DB_URL:-postgres://localhost/etl}\ndataDir: ${DATA_DIR:-./.data}/x\n'
    expect(load(yaml).database).toBe('postgres://localhost/etl')
    expect(load(yaml, { DB_URL: '' }).database).toBe('postgres://localhost/etl')
    const set = load(yaml, { DB_URL: 'postgres://db/warehouse', DATA_DIR: '/srv' })
    expect(set.database).toBe('postgres://db/warehouse')
    expect(set.dataDir).toBe('/srv/x')
  })

  it('substitutes several references in one value and in values inside lists', () => {
    const yaml = ['dataDir: ${BASE}/${SUB}', 'kwiga:', '  - name: main', '    token: tok-${TOKEN}', '    cabinetHash: ${HASH}', ''].join('\n')
    const config = load(yaml, { BASE: '/srv', SUB: 'etl', TOKEN: 'secret-1', HASH: 'hash-1' })
    expect(config.dataDir).toBe('/srv/etl')
    expect(config.kwiga[0]!.token).toBe('tok-secret-1')
    expect(config.kwiga[0]!.cabinetHash).toBe('hash-1')
    expect(redact('tok-secret-1 hash-1')).toBe('[REDACTED] [REDACTED]')
  })

  it('names an unset variable and the field that refers to it', () => {
    const yaml = account('${GC_KEY}') + 'kwiga:\n  - name: main\n    token: ${KW_TOKEN}\n    cabinetHash: ${KW_TOKEN}\n'
    const fail = () => load(yaml, { OTHER: 'x' })
    expect(fail).toThrow(ConfigError)
    expect(fail).toThrow('GC_KEY (getcourse[0].key)')
    expect(fail).toThrow(/KW_TOKEN \(kwiga\[0\]\.token\), KW_TOKEN \(kwiga\[0\]\.cabinetHash\)/)
  })

  it('ignores references in comments and never substitutes keys', () => {
    expect(load('# database: ${NOT_SET}\ndataDir: ./d\n').dataDir).toBe(path.join(dir, 'd'))
    expect(interpolateEnv({ '${A}': '${A}', n: 5, b: true, z: null, list: ['${A}', 1] }, { A: 'a' })).toEqual({
      '${A}': 'a',
      n: 5,
      b: true,
      z: null,
      list: ['a', 1],
    })
  })

  it('keeps a "__proto__" key a key, refused by the schema', () => {
    const walked = interpolateEnv(JSON.parse('{"__proto__": {"dataDir": "${A}"}}'), { A: 'a' }) as Record<string, unknown>
    expect(Object.getPrototypeOf(walked)).toBe(Object.prototype)
    expect(Object.keys(walked)).toEqual(['__proto__'])
    expect(() => load('__proto__:\n  dataDir: x\n')).toThrow(ConfigError)
  })
})

describe('dataDir', () => {
  it('a relative dataDir written in the file is read from the file’s folder; without the field it is ./.data of the working directory', () => {
    expect(load('dataDir: ./склад, "данные"\n').dataDir).toBe(path.join(dir, 'склад, "данные"'))
    expect(load('dataDir: /srv/etl\n').dataDir).toBe('/srv/etl')
    expect(load('timezone: Europe/Moscow\n').dataDir).toBe('./.data')
  })
})
