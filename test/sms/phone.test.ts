import { describe, expect, it } from 'vitest'
import { maskPhone, normalizePhone } from '../../src/sms/phone.ts'

describe('normalizePhone: valid', () => {
  const valid: [string, string][] = [
    // Mainland China mobile, bare / 86 / +86.
    ['13812345678', '+8613812345678'],
    ['8613812345678', '+8613812345678'],
    ['+8613812345678', '+8613812345678'],
    ['13012345678', '+8613012345678'],
    ['19912345678', '+8619912345678'],
    ['15000000000', '+8615000000000'],
    // Separators: single spaces or hyphens between digit groups, surrounding whitespace trimmed.
    ['138 1234 5678', '+8613812345678'],
    ['138-1234-5678', '+8613812345678'],
    ['+86 138 1234 5678', '+8613812345678'],
    ['+86-138-1234-5678', '+8613812345678'],
    ['86 138 1234 5678', '+8613812345678'],
    ['+86 13812345678', '+8613812345678'],
    ['  13812345678  ', '+8613812345678'],
    ['13812345678\n', '+8613812345678'],
    // E.164, returned as is.
    ['+14155552671', '+14155552671'],
    ['+1 415-555-2671', '+14155552671'],
    ['+447911123456', '+447911123456'],
    ['+12345678', '+12345678'], // 8 digits, the minimum
    ['+123456789012345', '+123456789012345'], // 15 digits, the maximum
    ['+861012345678', '+861012345678'], // +86 landline is still valid E.164
  ]
  it.each(valid)('%j → %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected)
  })
})

describe('normalizePhone: invalid', () => {
  const invalid: string[] = [
    '',
    ' ',
    '+',
    '86',
    '+86',
    '12812345678', // second digit 2
    '11012345678', // second digit 1
    '10012345678',
    '23812345678', // does not start with 1
    '1381234567', // 10 digits
    '138123456789', // 12 digits
    '8612812345678', // 86 + non-mobile without +
    '861381234567', // 86 + 10 digits
    '008613812345678', // international 00 prefix not guessed
    '4155552671', // non-Chinese national number without +
    '+1234567', // 7 digits
    '+1234567890123456', // 16 digits
    '+0123456789', // country code cannot start with 0
    '+ 8613812345678',
    '+86+13812345678',
    '++8613812345678',
    '138.1234.5678',
    '(138) 1234 5678',
    '138--1234-5678',
    '138  1234 5678',
    '-13812345678',
    '138 1234 5678-',
    '138\t1234\t5678',
    '13812345678x',
    'phone: 13812345678',
    '１３８１２３４５６７８', // full-width digits
    '١٣٨١٢٣٤٥٦٧٨', // Arabic-Indic digits
    '13812345678 ext 1',
  ]
  it.each(invalid)('%j → null', (input) => {
    expect(normalizePhone(input)).toBeNull()
  })
})

describe('maskPhone', () => {
  const masks: [string, string][] = [
    ['+8613812345678', '+86138****5678'],
    ['+8619900001111', '+86199****1111'],
    ['+14155552671', '+141****2671'],
    ['+447911123456', '+447*****3456'],
    ['+123456789012345', '+123********2345'],
    ['+861012345678', '+8610****5678'], // short +86: prefix shrinks so 4 digits stay hidden
    ['+123456789', '+1****6789'],
    ['+12345678', '+****5678'],
    // Raw input is normalised first.
    ['138 1234 5678', '+86138****5678'],
    ['13812345678', '+86138****5678'],
    // Anything that is not a phone number leaks nothing.
    ['', '****'],
    ['hello', '****'],
    ['12', '****'],
    ['+1234567', '****'],
  ]
  it.each(masks)('%j → %s', (input, expected) => {
    expect(maskPhone(input)).toBe(expected)
  })

  it.each(['+8613812345678', '+14155552671', '+12345678', '+123456789012345'])(
    '%s keeps its length and hides at least 4 middle digits',
    (phone) => {
      const masked = maskPhone(phone)
      expect(masked).toHaveLength(phone.length)
      expect(masked.match(/\*/g)?.length ?? 0).toBeGreaterThanOrEqual(4)
      expect(masked.slice(-4)).toBe(phone.slice(-4))
      expect(masked).not.toBe(phone)
    },
  )
})
