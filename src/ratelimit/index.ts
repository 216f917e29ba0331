export {
  createLimiter,
  type Decision,
  type Limiter,
  type Rule,
  retryAfterSeconds,
  type TakeOptions,
} from './limiter.ts'
