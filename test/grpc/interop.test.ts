import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROTO_DIR } from '../../src/grpc/protos.ts'
import type { TestApp } from '../support/app.ts'
import { startGrpcApp } from './support.ts'

const PYTHON = '/usr/bin/python3' // Debian's, where python3-grpcio and python3-grpc-tools live
const run = promisify(execFile)
const here = path.dirname(new URL(import.meta.url).pathname)
const hasGrpcio =
  fs.existsSync(PYTHON) &&
  fs.existsSync('/usr/lib/python3/dist-packages/grpc') &&
  fs.existsSync('/usr/lib/python3/dist-packages/grpc_tools')

/**
 * The seed's Python grpcio client against hotspot: stubs generated from proto/schema.proto by grpc_tools.protoc
 * at test time, the client streaming numbers through hotspot's Gateway. CI installs the Debian packages, so
 * there it always runs.
 */
describe.runIf(hasGrpcio || process.env.CI)('interop with the Python grpcio Gateway client', () => {
  let app: TestApp & { address: string }
  let stubs: string

  beforeAll(async () => {
    stubs = fs.mkdtempSync(path.join(os.tmpdir(), 'hotspot-grpc-stubs-'))
    await run(PYTHON, [
      '-m',
      'grpc_tools.protoc',
      '-I',
      PROTO_DIR,
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      path.join(PROTO_DIR, 'schema.proto'),
    ])
    app = await startGrpcApp()
  })
  afterAll(async () => {
    await app?.close()
    fs.rmSync(stubs, { recursive: true, force: true })
  })

  const pythonClient = async (nums: bigint[]) => {
    const { stdout } = await run(
      PYTHON,
      [path.join(here, 'python/gateway_client.py'), app.address, ...nums.map(String)],
      { env: { ...process.env, PYTHONPATH: stubs }, timeout: 60_000 },
    )
    return stdout.trim().split('\n')
  }

  it('streams numbers through hotspot and gets num + 1 for each, past 2^53 included', async () => {
    const nums = [
      0n,
      1n,
      -1n,
      2n ** 53n + 1n,
      2n ** 63n - 2n,
      -(2n ** 63n),
      ...Array.from({ length: 500 }, (_, i) => BigInt(i * 7)),
    ]
    const lines = await pythonClient(nums)
    expect(lines).toEqual([...nums.map((n) => String(n + 1n)), 'STATUS OK'])
  })

  it('sees INVALID_ARGUMENT for int64 max after the answers before it', async () => {
    const lines = await pythonClient([5n, 2n ** 63n - 1n, 6n])
    expect(lines[0]).toBe('6')
    expect(lines[1]).toMatch(/^STATUS INVALID_ARGUMENT num: /)
    expect(lines.length).toBe(2)
  })
})
