import { describe, expect, it } from 'vitest'
import { segment } from '../../src/sms/segment.ts'

// Reference tables built independently of the implementation, from the GSM 03.38 code chart as code points.
// 0x00–0x1F (0x1B is ESC, not a character):
const BASIC_LOW = [
  0x40, 0xa3, 0x24, 0xa5, 0xe8, 0xe9, 0xf9, 0xec, 0xf2, 0xc7, 0x0a, 0xd8, 0xf8, 0x0d, 0xc5, 0xe5, 0x394, 0x5f,
  0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398, 0x39e, 0xc6, 0xe6, 0xdf, 0xc9,
]
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)
const BASIC_CODE_POINTS = [
  ...BASIC_LOW,
  // 0x20–0x3F is ASCII except 0x24, which is ¤ (the dollar sign lives at 0x02).
  ...range(0x20, 0x3f).map((c) => (c === 0x24 ? 0xa4 : c)),
  0xa1, // 0x40 ¡
  ...range(0x41, 0x5a),
  0xc4,
  0xd6,
  0xd1,
  0xdc,
  0xa7, // Ä Ö Ñ Ü §
  0xbf, // 0x60 ¿
  ...range(0x61, 0x7a),
  0xe4,
  0xf6,
  0xf1,
  0xfc,
  0xe0, // ä ö ñ ü à
]
const BASIC = BASIC_CODE_POINTS.map((c) => String.fromCodePoint(c))
// Extension table: \f ^ { } \ [ ~ ] | €
const EXTENSION = [0x0c, 0x5e, 0x7b, 0x7d, 0x5c, 0x5b, 0x7e, 0x5d, 0x7c, 0x20ac].map((c) =>
  String.fromCodePoint(c),
)

const isGsm = (text: string): boolean =>
  Array.from(text).every((c) => BASIC.includes(c) || EXTENSION.includes(c))
const septets = (text: string): number =>
  Array.from(text).reduce((n, c) => n + (EXTENSION.includes(c) ? 2 : 1), 0)
const codeUnits = (text: string): number => text.length
const size = (text: string, gsm: boolean): number => (gsm ? septets(text) : codeUnits(text))

const rep = (s: string, n: number): string => s.repeat(n)
const times = (value: number, n: number): number[] => Array.from({ length: n }, () => value)

const EURO = '€'
const HAN = '中'
const EMOJI = '😀' // U+1F600, a surrogate pair

describe('reference tables (sanity of the test itself)', () => {
  it('has 127 basic characters (128 codes minus ESC) and 10 extension characters, all distinct', () => {
    expect(BASIC).toHaveLength(127)
    expect(new Set(BASIC).size).toBe(127)
    expect(EXTENSION).toHaveLength(10)
    expect(BASIC.some((c) => EXTENSION.includes(c))).toBe(false)
  })
})

interface Case {
  name: string
  input: string
  encoding: 'GSM-7' | 'UCS-2'
  units: number
  // Size of each expected part, in septets (GSM-7) or code units (UCS-2), hardcoded from the rules.
  partUnits: number[]
}

const cases: Case[] = [
  // GSM-7 boundaries: 160 in one, then 153 per segment.
  { name: 'GSM 160 septets', input: rep('a', 160), encoding: 'GSM-7', units: 160, partUnits: [160] },
  { name: 'GSM 161 septets', input: rep('a', 161), encoding: 'GSM-7', units: 161, partUnits: [153, 8] },
  { name: 'GSM 306 septets', input: rep('a', 306), encoding: 'GSM-7', units: 306, partUnits: [153, 153] },
  { name: 'GSM 307 septets', input: rep('a', 307), encoding: 'GSM-7', units: 307, partUnits: [153, 153, 1] },
  { name: 'GSM 459 septets', input: rep('a', 459), encoding: 'GSM-7', units: 459, partUnits: times(153, 3) },
  {
    name: 'GSM 460 septets',
    input: rep('a', 460),
    encoding: 'GSM-7',
    units: 460,
    partUnits: [...times(153, 3), 1],
  },
  {
    name: 'GSM 10 segments',
    input: rep('a', 1530),
    encoding: 'GSM-7',
    units: 1530,
    partUnits: times(153, 10),
  },
  {
    name: 'GSM 11 segments',
    input: rep('a', 1531),
    encoding: 'GSM-7',
    units: 1531,
    partUnits: [...times(153, 10), 1],
  },
  { name: 'all-basic 1 char', input: 'A', encoding: 'GSM-7', units: 1, partUnits: [1] },

  // Extension characters: two septets each, never straddling a split.
  {
    name: 'one € turns 160 chars into 161 septets',
    input: rep('a', 159) + EURO,
    encoding: 'GSM-7',
    units: 161,
    partUnits: [153, 8],
  },
  { name: '80 € = 160 septets', input: rep(EURO, 80), encoding: 'GSM-7', units: 160, partUnits: [160] },
  { name: '81 € = 162 septets', input: rep(EURO, 81), encoding: 'GSM-7', units: 162, partUnits: [152, 10] },
  {
    name: '€ at septet 153/154 moves to the next segment',
    input: `${rep('a', 152)}${EURO}${rep('a', 10)}`,
    encoding: 'GSM-7',
    units: 164,
    partUnits: [152, 12],
  },
  {
    name: '€ at the split turns 306 septets into 3 segments',
    input: `${rep('a', 152)}${EURO}${rep('a', 152)}`,
    encoding: 'GSM-7',
    units: 306,
    partUnits: [152, 153, 1],
  },
  {
    name: '€ ending exactly on septet 153',
    input: `${rep('a', 151)}${EURO}${rep('a', 10)}`,
    encoding: 'GSM-7',
    units: 163,
    partUnits: [153, 10],
  },
  {
    name: '760 € = 10 segments of 152',
    input: rep(EURO, 760),
    encoding: 'GSM-7',
    units: 1520,
    partUnits: times(152, 10),
  },
  {
    name: '765 € = 1530 septets but 11 segments',
    input: rep(EURO, 765),
    encoding: 'GSM-7',
    units: 1530,
    partUnits: [...times(152, 10), 10],
  },
  {
    name: '1530 septets ending in € fill 10 segments',
    input: rep('a', 1528) + EURO,
    encoding: 'GSM-7',
    units: 1530,
    partUnits: times(153, 10),
  },
  {
    name: '€ pushed out of segment 10 makes 11',
    input: rep('a', 1529) + EURO,
    encoding: 'GSM-7',
    units: 1531,
    partUnits: [...times(153, 9), 152, 2],
  },
  { name: 'lone €', input: EURO, encoding: 'GSM-7', units: 2, partUnits: [2] },
  { name: 'lone form feed', input: '\f', encoding: 'GSM-7', units: 2, partUnits: [2] },
  {
    name: 'whole basic + extension tables',
    input: BASIC.join('') + EXTENSION.join(''),
    encoding: 'GSM-7',
    units: 147,
    partUnits: [147],
  },

  // UCS-2 boundaries: 70 in one, then 67 per segment.
  { name: 'UCS-2 70 units', input: rep(HAN, 70), encoding: 'UCS-2', units: 70, partUnits: [70] },
  { name: 'UCS-2 71 units', input: rep(HAN, 71), encoding: 'UCS-2', units: 71, partUnits: [67, 4] },
  { name: 'UCS-2 134 units', input: rep(HAN, 134), encoding: 'UCS-2', units: 134, partUnits: [67, 67] },
  { name: 'UCS-2 135 units', input: rep(HAN, 135), encoding: 'UCS-2', units: 135, partUnits: [67, 67, 1] },
  { name: 'UCS-2 201 units', input: rep(HAN, 201), encoding: 'UCS-2', units: 201, partUnits: times(67, 3) },
  {
    name: 'UCS-2 202 units',
    input: rep(HAN, 202),
    encoding: 'UCS-2',
    units: 202,
    partUnits: [...times(67, 3), 1],
  },
  {
    name: 'UCS-2 10 segments',
    input: rep(HAN, 670),
    encoding: 'UCS-2',
    units: 670,
    partUnits: times(67, 10),
  },
  {
    name: 'UCS-2 11 segments',
    input: rep(HAN, 671),
    encoding: 'UCS-2',
    units: 671,
    partUnits: [...times(67, 10), 1],
  },

  // Surrogate pairs: two units, never cut in half.
  { name: 'lone emoji', input: EMOJI, encoding: 'UCS-2', units: 2, partUnits: [2] },
  { name: '35 emoji = 70 units', input: rep(EMOJI, 35), encoding: 'UCS-2', units: 70, partUnits: [70] },
  { name: '36 emoji = 72 units', input: rep(EMOJI, 36), encoding: 'UCS-2', units: 72, partUnits: [66, 6] },
  {
    name: 'emoji at units 67/68 moves to the next segment',
    input: `${rep(HAN, 66)}${EMOJI}${rep(HAN, 4)}`,
    encoding: 'UCS-2',
    units: 72,
    partUnits: [66, 6],
  },
  {
    name: 'emoji at the split turns 134 units into 3 segments',
    input: `${rep(HAN, 66)}${EMOJI}${rep(HAN, 66)}`,
    encoding: 'UCS-2',
    units: 134,
    partUnits: [66, 67, 1],
  },
  {
    name: 'emoji ending exactly on unit 67',
    input: `${rep(HAN, 65)}${EMOJI}${rep(HAN, 4)}`,
    encoding: 'UCS-2',
    units: 71,
    partUnits: [67, 4],
  },
  {
    name: '330 emoji = 10 segments of 66',
    input: rep(EMOJI, 330),
    encoding: 'UCS-2',
    units: 660,
    partUnits: times(66, 10),
  },
  {
    name: '335 emoji = 670 units but 11 segments',
    input: rep(EMOJI, 335),
    encoding: 'UCS-2',
    units: 670,
    partUnits: [...times(66, 10), 10],
  },

  // Mixed scripts: one non-GSM character makes the whole text UCS-2.
  { name: 'Latin + Chinese', input: 'Hello, 世界!', encoding: 'UCS-2', units: 10, partUnits: [10] },
  {
    name: '159 GSM chars + one Chinese char',
    input: rep('a', 159) + HAN,
    encoding: 'UCS-2',
    units: 160,
    partUnits: [67, 67, 26],
  },
  {
    name: 'extension chars cost one unit in UCS-2',
    input: `${rep(EURO, 70)}ç`,
    encoding: 'UCS-2',
    units: 71,
    partUnits: [67, 4],
  },
  {
    name: '69 GSM chars + emoji',
    input: rep('a', 69) + EMOJI,
    encoding: 'UCS-2',
    units: 71,
    partUnits: [67, 4],
  },
  { name: 'Ç is GSM', input: 'Ça va', encoding: 'GSM-7', units: 5, partUnits: [5] },
  { name: 'ç is not GSM', input: 'ça va', encoding: 'UCS-2', units: 5, partUnits: [5] },
  { name: 'backtick is not GSM', input: 'run `ls`', encoding: 'UCS-2', units: 8, partUnits: [8] },
  { name: 'lone high surrogate', input: '\uD83D', encoding: 'UCS-2', units: 1, partUnits: [1] },
]

describe('segment: boundary table', () => {
  it.each(cases)('$name', ({ input, encoding, units, partUnits }) => {
    const result = segment(input)
    expect(result.encoding).toBe(encoding)
    expect(result.units).toBe(units)
    expect(result.segments).toBe(partUnits.length)
    expect(result.parts).toHaveLength(partUnits.length)

    const gsm = encoding === 'GSM-7'
    // Independent cross-check of the expectation itself.
    expect(isGsm(input)).toBe(gsm)
    expect(size(input, gsm)).toBe(units)

    expect(result.parts.map((p) => size(p, gsm))).toEqual(partUnits)
    expect(result.parts.join('')).toBe(input)

    const limit = partUnits.length === 1 ? (gsm ? 160 : 70) : gsm ? 153 : 67
    for (const part of result.parts) {
      expect(part.length).toBeGreaterThan(0)
      expect(size(part, gsm)).toBeLessThanOrEqual(limit)
    }
    // No surrogate pair cut in half across a boundary.
    for (let i = 1; i < result.parts.length; i++) {
      const prev = result.parts[i - 1] ?? ''
      const next = result.parts[i] ?? ''
      expect(/[\uD800-\uDBFF]$/.test(prev) && /^[\uDC00-\uDFFF]/.test(next)).toBe(false)
    }
  })
})

describe('segment: exact parts', () => {
  it('moves the € that would straddle the split into the next part', () => {
    const input = `${rep('a', 152)}${EURO}${rep('b', 10)}`
    expect(segment(input).parts).toEqual([rep('a', 152), `${EURO}${rep('b', 10)}`])
  })

  it('puts the € of a 160-char text at the end of the second part', () => {
    expect(segment(rep('a', 159) + EURO).parts).toEqual([rep('a', 153), `${rep('a', 6)}${EURO}`])
  })

  it('moves the emoji that would straddle the split into the next part', () => {
    const input = `${rep(HAN, 66)}${EMOJI}${rep('x', 4)}`
    expect(segment(input).parts).toEqual([rep(HAN, 66), `${EMOJI}xxxx`])
  })

  it('returns the input itself as the single part', () => {
    expect(segment('Hi there\r\n').parts).toEqual(['Hi there\r\n'])
  })
})

describe('segment: empty', () => {
  it('has no segments and no parts', () => {
    const result = segment('')
    expect(result.segments).toBe(0)
    expect(result.parts).toEqual([])
    expect(result.units).toBe(0)
  })
})

describe('segment: character classification', () => {
  it.each(BASIC.map((c) => [`U+${c.codePointAt(0)?.toString(16).padStart(4, '0')}`, c]))(
    'basic %s is GSM-7, one septet',
    (_label, ch) => {
      expect(segment(ch)).toEqual({ encoding: 'GSM-7', segments: 1, parts: [ch], units: 1 })
    },
  )

  it.each(EXTENSION.map((c) => [`U+${c.codePointAt(0)?.toString(16).padStart(4, '0')}`, c]))(
    'extension %s is GSM-7, two septets',
    (_label, ch) => {
      expect(segment(ch)).toEqual({ encoding: 'GSM-7', segments: 1, parts: [ch], units: 2 })
    },
  )

  // Common lookalikes and near misses that are not in GSM 03.38.
  const notGsm: [string, string, number][] = [
    ['ç (only Ç is in the table)', '\u00e7', 1],
    ['` backtick', '`', 1],
    ['À', '\u00c0', 1],
    ['á', '\u00e1', 1],
    ['ê', '\u00ea', 1],
    ['Ù', '\u00d9', 1],
    ['tab', '\t', 1],
    ['NUL', '\u0000', 1],
    ['¢', '\u00a2', 1],
    ['µ', '\u00b5', 1],
    ['’ right single quote', '\u2019', 1],
    ['“ left double quote', '\u201c', 1],
    ['– en dash', '\u2013', 1],
    ['Ω ohm sign (not Greek Omega)', '\u2126', 1],
    ['∆ increment (not Greek Delta)', '\u2206', 1],
    ['no-break space', '\u00a0', 1],
    ['Greek small omega', '\u03c9', 1],
    ['é decomposed (e + combining acute)', 'e\u0301', 2],
    ['中', HAN, 1],
    ['😀 emoji', EMOJI, 2],
  ]
  it.each(notGsm)('%s is UCS-2', (_label, text, units) => {
    expect(segment(text)).toEqual({ encoding: 'UCS-2', segments: 1, parts: [text], units })
  })

  it('a single non-GSM char among GSM text switches everything to UCS-2', () => {
    const result = segment(`${rep('a', 100)}\u2019${rep('a', 100)}`)
    expect(result.encoding).toBe('UCS-2')
    expect(result.units).toBe(201)
    expect(result.segments).toBe(3)
  })
})
