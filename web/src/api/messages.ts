import { ApiError } from './client.ts'

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** Every error code of API.md as a sentence a person understands; the API's own message as a last resort. */
const SENTENCES: Record<string, (e: ApiError) => string> = {
  network: () => 'The server cannot be reached. Check your connection; the page retries by itself.',
  not_found: () => 'This address does not exist on the server.',
  invalid_json: () => 'The request was not valid JSON. Reload the page and try again.',
  validation_failed: (e) => `Some input is not valid: ${e.message}.`,
  payload_too_large: () => 'That is too much text to send at once.',
  unsupported_media_type: () => 'The request was sent in a format the server does not accept.',
  unauthorized: () => 'The admin token was refused. Enter the token printed when hotspot first started.',
  unavailable: () =>
    'A backing server (Redis, RabbitMQ or the database) is down for a moment. Try again shortly.',
  internal_error: () =>
    'Something went wrong on the server. Try again; if it persists, check the server logs.',
  rate_limited: (e) =>
    e.retryAfter
      ? `Too many requests for now. You can try again in ${plural(e.retryAfter, 'second')}.`
      : 'Too many requests for now. Wait a little and try again.',
  item_not_found: () => 'This item does not exist (it may have been deleted).',
  banner_not_found: () => 'This banner does not exist any more.',
  sms_not_found: () => 'This SMS is unknown.',
  invalid_phone: () =>
    'That phone number is not valid. Use a mainland China mobile number (11 digits starting with 13–19, ' +
    'optionally +86) or an international number in E.164 form (+ then 8 to 15 digits).',
  invalid_content: () => 'The message is empty or too long: at most 10 SMS segments.',
  invalid_code: (e) => {
    const left = e.details.attemptsLeft
    return typeof left === 'number'
      ? `That code is not right. ${plural(left, 'attempt')} left.`
      : 'That code is not right.'
  },
  code_expired: () =>
    'There is no active code for this phone: it expired or was already used. Ask for a new one.',
  too_many_attempts: () => 'Too many wrong attempts: this code no longer works. Ask for a new one.',
  product_not_found: () => 'This product does not exist.',
  not_started: () => 'The sale has not started yet. The button works as soon as the countdown ends.',
  ended: () => 'The sale has ended.',
  already_purchased: () => 'You already bought this product: one per person.',
  sold_out: () => 'Sold out: every unit has been taken.',
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const sentence = SENTENCES[error.code]
    if (sentence) return sentence(error)
    return error.message
      ? `${error.message[0]?.toUpperCase()}${error.message.slice(1)}.`
      : 'The request failed.'
  }
  return 'Something unexpected happened in this page. Reload it and try again.'
}

export function errorCode(error: unknown): string | undefined {
  return error instanceof ApiError ? error.code : undefined
}
