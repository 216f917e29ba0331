/**
 * Tells whether an error means "a backing server could not answer" (→ 503 `unavailable`) rather than a bug
 * (→ 500). Each client library reports that differently; the knowledge of their shapes lives here only.
 */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'SQLITE_BUSY'].includes(code))
      return true
    // PostgreSQL connection exceptions, admin shutdown, and a statement cancelled by statement_timeout (57014)
    if (/^(08|57P)/.test(code) || code === '57014') return true
  }
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'ClusterAllFailedError') return true
  if (isAmqpUnavailable(error, code)) return true
  // Fastify's handlerTimeout: a backing server hung past the request's deadline.
  if (code === 'FST_ERR_HANDLER_TIMEOUT') return true
  if (error.name === 'BatchQueueFullError') return true // too much already waits for a hung server
  if (error.name === 'ReplicaWaitError') return true // REDIS_WAIT_REPLICAS: too few replicas acknowledged
  // Redis Cluster mid-fail-over: no master for a slot yet (CLUSTERDOWN), or ioredis gave up following MOVEDs.
  if (/CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections/.test(error.message)) return true
  return /Connection is closed|Command aborted due to connection close|RabbitMQ failed to connect in time|Stream isn't writeable|connect ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|Command timed out|Query read timeout|Cluster isn't ready/i.test(
    error.message,
  )
}

/**
 * rabbitmq-client's codes for "the broker is not there (yet)": no channel within acquireTimeout while it
 * reconnects, a channel or connection closed under a publish, a publish nacked (e.g. a quorum queue without a
 * majority). Its channel errors with an AMQP reply code (NOT_FOUND, PRECONDITION_FAILED …) are bugs: 500.
 */
const AMQP_UNAVAILABLE = new Set([
  'TIMEOUT',
  'CH_CLOSE',
  'CLOSED',
  'CLOSING',
  'CONN_CLOSE',
  'CONNECTION_TIMEOUT',
  'SOCKET_TIMEOUT',
  'READ_END',
  'NACK',
  'CONNECTION_FORCED',
])

function isAmqpUnavailable(error: Error, code: unknown): boolean {
  if (error.name === 'AMQPConnectionError') return true
  if (error.name !== 'AMQPError' && error.name !== 'AMQPChannelError') return false
  return typeof code === 'string' && AMQP_UNAVAILABLE.has(code)
}
