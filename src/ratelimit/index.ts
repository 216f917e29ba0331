export { setRateLimitHeaders, tightest } from './headers.ts'
export {
  createLimiter,
  type Decision,
  type Limiter,
  type Quota,
  type Rule,
  retryAfterSeconds,
  type TakeOptions,
} from './limiter.ts'
