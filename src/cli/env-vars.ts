/**
 * The environment variables each command reads, for `--help`. Light on purpose (config.ts only): help must not
 * load the app. README.md and docs/api.md explain each one at length.
 */
import { loadConfig } from '../config.ts'

/** name → one line: what it sets, then its default in brackets. */
type Group = { title: string; vars: Record<string, string> }

export const CONNECTIONS: Group = {
  title: 'Servers',
  vars: {
    REDIS_URL: 'redis://… or rediss://…; a comma list = Redis Cluster; redis+sentinel://… [private server]',
    AMQP_URL: 'amqp://user:pass@host:port/vhost; a comma list = RabbitMQ cluster [private server]',
    AMQP_QUEUE_TYPE: "classic or quorum for hotspot's own queues [classic]",
    CACHE_REDIS_URL:
      "the cache's entries on a Redis of their own (allkeys-lfu); same forms as REDIS_URL [REDIS_URL]",
    REDIS_WAIT_REPLICAS: 'n > 0: writes that must survive a fail-over wait for n replicas (Redis WAIT) [0]',
    BROKER_URL:
      "the task broker: amqp://… or redis://… (kombu's Redis transport; no AMQP_URL = no RabbitMQ) [AMQP_URL]",
    BROKER_VISIBILITY_TIMEOUT: 'Redis broker: s before an unacked message is delivered again [3600]',
    REDIS_COMMAND_TIMEOUT_MS: 'a Redis command unanswered this long fails [3000]',
    HOTSPOT_KEY_PREFIX: 'prefix of every Redis key hotspot writes [hs]',
    HOTSPOT_DATA_DIR: 'private servers, the SQLite file and generated secrets [.data]',
    CELERY_DEFAULT_QUEUE: 'queue of tasks without a queue of their own [celery]',
    HOTSPOT_TASK_QUEUE: "queue of hotspot's own tasks [hotspot]",
    TASK_QUEUE_MAX_PRIORITY:
      "Celery's task_queue_max_priority (1-255): task queues declared with x-max-priority [unset]",
  },
}

export const DATABASE: Group = {
  title: 'Database',
  vars: {
    DATABASE_URL: 'postgres://… or a SQLite file path / sqlite: URL [.data/hotspot.db]',
    DATABASE_POOL_SIZE: 'PostgreSQL connections per process [10]',
    DATABASE_STATEMENT_TIMEOUT_MS: 'PostgreSQL cancels longer statements; 0 = none [5000]',
  },
}

export const PROCESS: Group = {
  title: 'Process',
  vars: {
    LOG_LEVEL: 'fatal error warn info debug trace silent [info]',
    LOG_FORMAT: 'pretty or json [pretty on a terminal, else json]',
    SHUTDOWN_GRACE_MS: 'how long shutdown waits for in-flight work [5000]',
  },
}

export const HTTP: Group = {
  title: 'HTTP API',
  vars: {
    PORT: 'HTTP listen port [3000]',
    HOST: 'HTTP listen address [127.0.0.1]',
    HOTSPOT_ADMIN_TOKEN: 'bearer token of admin routes, ≥ 16 chars [generated into the data dir]',
    REQUEST_TIMEOUT_MS: 'a request not answered within this gets 503 [9000]',
    MAX_IN_FLIGHT_REQUESTS: 'requests in progress at once; past it 503 at once [2000]',
    METRICS_TOKEN: 'bearer token GET /metrics needs, ≥ 16 chars [unset: open]',
    SSE_MAX_CLIENTS: 'live view streams one process holds; past it 503 [5000]',
    SSE_MAX_CLIENTS_PER_ADDRESS: 'live view streams from one client address; 0 = no limit [100]',
    COUNTERS_FLUSH_MS: 'how often view counts are written behind to SQL [2000]',
    COUNTERS_DEDUPE_SECONDS: "a visitor's views of one item count once per window; 0 = every view [0]",
    COUNTERS_TRENDING_HALF_LIFE_HOURS: "trending rankings: a view's weight halves every this many hours [6]",
    BANNERS_CACHE_TTL_MS: 'how long the cached banner list is fresh [600000]',
    BANNERS_CACHE_GRACE_MS: 'how long a stale banner list may still be served [3600000]',
    CACHE_SOFT_TIMEOUT_MS: 'a read with a stale value waits this long for its refresh; 0 = stale at once [0]',
    CACHE_HARD_TIMEOUT_MS:
      'a read with nothing stale waits this long for its load, then 503; 0 = none [5000]',
    SECKILL_USER_LIMIT: 'buy attempts per user per window; 0 = no limit [10]',
    SECKILL_IP_LIMIT: 'buy attempts per client address per window; 0 = no limit [1000]',
    SECKILL_LIMIT_WINDOW_SECONDS: 'window of the two buy limits [10]',
    SECKILL_SOLD_OUT_TRUST_MS:
      'how long a sold-out product is refused without asking Redis; 0 = always ask [1000]',
    SMS_LIMIT_SEGMENTS: 'segments per phone per window [5]',
    SMS_LIMIT_WINDOW_SECONDS: 'window of the per-phone limit [60]',
    SMS_ADDRESS_LIMIT: 'segments per client address per window; 0 = off [100]',
    SMS_ADDRESS_WINDOW_SECONDS: 'window of the per-address budget [3600]',
    SMS_GLOBAL_LIMIT: 'segments of the whole deployment per window; 0 = off [10000]',
    SMS_GLOBAL_WINDOW_SECONDS: 'window of the global budget [3600]',
    SMS_ALLOWED_COUNTRIES: 'country calling codes SMS may go to, e.g. 86,852 [any]',
    VERIFICATION_SECRET: 'HMAC key of verification codes, ≥ 16 chars [generated into the data dir]',
    VERIFICATION_TTL_SECONDS: 'code lifetime [300]',
    VERIFICATION_COOLDOWN_SECONDS: 'resend cooldown per phone [60]',
    VERIFICATION_PER_HOUR: 'codes per phone per hour [5]',
    VERIFICATION_PER_DAY: 'codes per phone per day [10]',
    VERIFICATION_MAX_ATTEMPTS: 'wrong attempts that void a code [5]',
    IHUYI_RECEIPT_SECRET: "secret in ihuyi's receipt address [unset: receipts refused]",
  },
}

export const WORKER: Group = {
  title: 'Task worker',
  vars: {
    WORKER_QUEUES: 'comma-separated queues to consume [the two task queues]',
    WORKER_CONCURRENCY: 'handlers running at once, per queue [16]',
    WORKER_PREFETCH: 'messages the broker may push ahead, per queue [32]',
    WORKER_MAX_DELIVERIES: 'failures (or runs that killed the worker) before dead-lettering [5]',
    WORKER_NAME: 'Celery node name (name@host) for remote control [hotspot-<pid>@<host>]',
    WORKER_SEND_EVENTS: "true: send Celery's task events on celeryev (celery -E) [false]",
    TASK_SEND_SENT_EVENT: 'true: the producer sends task-sent for every task it publishes [false]',
    SMS_PROVIDER: 'outbox, flaky, ihuyi, aliyun, twilio, smpp; a comma list = fail-over order [outbox]',
    SMS_MAX_ATTEMPTS: 'delivery attempts per message [5]',
    SMS_RETRY_BASE_MS: 'backoff base between attempts [2000]',
    SMS_RETRY_MAX_SECONDS: 'backoff cap [300]',
    SMS_FLAKY_FAILURES: 'with SMS_PROVIDER=flaky: failing attempts per message [2]',
    SMS_GATEWAY_TIMEOUT_MS: 'deadline of one gateway call [10000]',
    SMS_BREAKER_FAILURES: 'consecutive gateway failures that open its breaker [5]',
    SMS_BREAKER_OPEN_SECONDS: 'seconds before a half-open probe [30]',
    IHUYI_ACCOUNT: 'ihuyi APIID',
    IHUYI_PASSWORD: 'ihuyi APIKEY',
    IHUYI_URL: "ihuyi's submit endpoint",
    ALIYUN_ACCESS_KEY_ID: 'Aliyun AccessKey id',
    ALIYUN_ACCESS_KEY_SECRET: 'Aliyun AccessKey secret',
    ALIYUN_SIGN_NAME: 'Aliyun SignName',
    ALIYUN_CODE_TEMPLATE: 'Aliyun template of verification codes (its variable: code)',
    ALIYUN_TEMPLATE: 'Aliyun template of every other SMS',
    ALIYUN_TEMPLATE_PARAM: "that template's one variable [content]",
    ALIYUN_URL: 'Aliyun endpoint [https://dysmsapi.aliyuncs.com/]',
    ALIYUN_RECEIPT_POLL_SECONDS: 'how often Aliyun receipts are pulled [60]',
    TWILIO_ACCOUNT_SID: 'Twilio account SID',
    TWILIO_AUTH_TOKEN: 'Twilio auth token',
    TWILIO_FROM: 'Twilio sender number',
    TWILIO_MESSAGING_SERVICE_SID: 'Twilio messaging service (instead of TWILIO_FROM)',
    TWILIO_STATUS_CALLBACK_URL: 'public URL of /api/sms/receipts/twilio',
    TWILIO_URL: 'Twilio endpoint [https://api.twilio.com]',
    SMPP_URL: 'smpp://system_id:password@host:port',
    SMPP_SOURCE_ADDR: 'sender address of submit_sm [empty]',
    SMPP_ENQUIRE_LINK_SECONDS: 'keep-alive period of the bind [30]',
    DOMAIN_EVENTS_EXCHANGE:
      'topic exchange of domain events; Redis-only: prefix of their streams [hotspot.domain]',
    DOMAIN_EVENTS_BATCH: 'outbox events published per batch [200]',
    DOMAIN_EVENTS_POLL_MS: 'how often an idle worker looks at the outbox [500]',
    DOMAIN_EVENTS_CONFIRM_TIMEOUT_MS: 'a broker confirm not received within this fails the attempt [10000]',
    DOMAIN_EVENTS_RETRY_BASE_MS: 'backoff base after a refused publish [1000]',
    DOMAIN_EVENTS_RETRY_MAX_MS: 'backoff cap [60000]',
    DOMAIN_EVENTS_MAX_ATTEMPTS: 'refusals by a running broker after which an event is parked [20]',
    DOMAIN_EVENTS_STREAM_MAXLEN: 'Redis-only: MAXLEN ~ of each event stream [1000000]',
    DOMAIN_EVENTS_VIEWS_SETTLE_MS:
      "how long item.viewed waits after its second for other processes' views [2000]",
  },
}

export const BEAT: Group = {
  title: 'Beat scheduler',
  vars: {
    BEAT_LOCK_TTL_MS: "lifetime of beat's leader lock: a standby takes over within it [5000]",
    BANNERS_REFRESH_SECONDS: 'how often the banner cache is refreshed [300]',
    SECKILL_RECONCILE_SECONDS: 'how often flash sales are reconciled [60]',
    SECKILL_RESEND_AFTER_SECONDS: 'age after which a missing order is re-sent [60]',
  },
}

export const GRPC: Group = { title: 'gRPC', vars: { GRPC_PORT: 'gRPC listen port [50051]' } }

export const ALL_GROUPS = [CONNECTIONS, DATABASE, PROCESS, HTTP, WORKER, BEAT, GRPC]

/** Every variable loadConfig reads (it runs on an empty environment that records what is asked of it). */
export function varsReadByConfig(): string[] {
  const names = new Set<string>()
  const recorder = new Proxy({} as Record<string, string | undefined>, {
    get(_, name) {
      if (typeof name === 'string') names.add(name)
      return undefined
    },
  })
  loadConfig(recorder)
  return [...names]
}

/** Variables the configuration reads that no group above describes yet (listed by name, so none is hidden). */
export function unlistedGroup(): Group {
  const listed = new Set(ALL_GROUPS.flatMap((g) => Object.keys(g.vars)))
  const vars: Record<string, string> = {}
  for (const name of varsReadByConfig()) if (!listed.has(name)) vars[name] = 'see README.md'
  return { title: 'Other', vars }
}

/** The "Environment:" section of a command's help. */
export function envHelp(groups: Group[]): string {
  const names = groups.flatMap((g) => Object.keys(g.vars))
  const width = Math.max(...names.map((n) => n.length)) + 2
  const sections = groups
    .filter((g) => Object.keys(g.vars).length > 0)
    .map(
      (g) =>
        `  ${g.title}:\n${Object.entries(g.vars)
          .map(([name, about]) => `    ${name.padEnd(width)}${about}`)
          .join('\n')}`,
    )
  return `\nEnvironment (a bad value stops the command with a line naming it, exit 2):\n${sections.join('\n')}\n`
}
