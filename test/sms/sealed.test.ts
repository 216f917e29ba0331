import { describe, expect, it } from 'vitest'
import { createSealer, freshIv } from '../../src/sms/sealed.ts'

describe('sealed SMS texts', () => {
  it('every IV is fresh across pool refills, and handed-out IVs never change afterwards', () => {
    const first = freshIv()
    const copy = Buffer.from(first)
    const seen = new Set<string>([first.toString('hex')])
    for (let i = 0; i < 2_000; i++) seen.add(freshIv().toString('hex')) // about eight refills of the pool
    expect(seen.size).toBe(2_001)
    expect(first.equals(copy)).toBe(true)
  })

  it('seals the same text twice to different ciphertexts that both open, bound to their SMS id', () => {
    const sealer = createSealer(() => 'a-verification-secret-of-enough-length')
    const a = sealer.seal('sms-1', 'Your code is 123456')
    const b = sealer.seal('sms-1', 'Your code is 123456')
    expect(a).not.toBe(b)
    expect(sealer.open('sms-1', a)).toBe('Your code is 123456')
    expect(sealer.open('sms-1', b)).toBe('Your code is 123456')
    expect(() => sealer.open('sms-2', a)).toThrow()
  })
})
