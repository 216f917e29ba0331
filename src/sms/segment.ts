// Pure SMS segmentation (no I/O): which encoding a text needs and how it is cut into concatenated segments.
// Policy (e.g. the 10-segment cap) belongs to the caller.

export type SmsEncoding = 'GSM-7' | 'UCS-2'

export interface SegmentResult {
  encoding: SmsEncoding
  /** Number of SMS segments; 0 for the empty string. */
  segments: number
  /** Text of each segment; joined they equal the input. */
  parts: string[]
  /** Total size: septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number
}

// GSM 03.38 default alphabet, in table order (0x00–0x7F). 0x1B is the escape to the extension table, so it is
// not a character of its own. Greek capitals are written as escapes so lookalikes (e.g. Ω U+2126) cannot slip in.
const GSM_BASIC_CHARS =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  '\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039EÆæßÉ' +
  ' !"#¤%&\'()*+,-./' +
  '0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà'

// Extension table: each is sent as ESC + code, so it costs two septets.
const GSM_EXTENSION_CHARS = '\f^{}\\[~]|€'

const GSM_BASIC = new Set(GSM_BASIC_CHARS)
const GSM_EXTENSION = new Set(GSM_EXTENSION_CHARS)

// Single-segment limits vs. per-segment limits once a User Data Header (6 octets) is needed for concatenation.
const LIMITS: Record<SmsEncoding, { single: number; multi: number }> = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
}

function isGsm7(ch: string): boolean {
  return GSM_BASIC.has(ch) || GSM_EXTENSION.has(ch)
}

/** Cost of one code point: septets in GSM-7, UTF-16 code units (1, or 2 for a surrogate pair) in UCS-2. */
function unitCost(ch: string, encoding: SmsEncoding): number {
  if (encoding === 'GSM-7') return GSM_EXTENSION.has(ch) ? 2 : 1
  return ch.length
}

export function segment(content: string): SegmentResult {
  if (content === '') return { encoding: 'GSM-7', segments: 0, parts: [], units: 0 }

  // Iterate by code point so a surrogate pair is one indivisible item (a lone surrogate is one item of cost 1).
  const chars = Array.from(content)
  const encoding: SmsEncoding = chars.every(isGsm7) ? 'GSM-7' : 'UCS-2'
  const { single, multi } = LIMITS[encoding]

  let units = 0
  for (const ch of chars) units += unitCost(ch, encoding)
  if (units <= single) return { encoding, segments: 1, parts: [content], units }

  // Greedy packing: a character that would overflow the current segment starts the next one, so an escape
  // sequence or a surrogate pair is never split (the segment is left one unit short instead).
  const parts: string[] = []
  let current = ''
  let used = 0
  for (const ch of chars) {
    const cost = unitCost(ch, encoding)
    if (used + cost > multi) {
      parts.push(current)
      current = ''
      used = 0
    }
    current += ch
    used += cost
  }
  parts.push(current)

  return { encoding, segments: parts.length, parts, units }
}
