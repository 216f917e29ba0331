import { defineConfig } from 'vitest/config'

/**
 * `npm run test:cluster`: the feature tests against a Redis Cluster (3 masters + 3 replicas), a 3-node RabbitMQ
 * cluster with quorum queues and PostgreSQL (test/support/cluster-setup.ts), plus the fault tests of test/cluster/.
 */
export default defineConfig({
  test: {
    include: [
      'test/{counters,tasks,sms,ratelimit,verification,cache,banners,seckill,http,db}/**/*.test.ts',
      'test/doctor.test.ts',
      'test/cluster/**/*.test.ts',
    ],
    exclude: [
      // Python Celery's Redis result backend speaks to one Redis node only: it cannot use a Redis Cluster.
      'test/tasks/celery-interop.test.ts',
      // The same Python app (interop_app.py: one broker URL, one Redis node) drives `celery inspect/control`.
      'test/tasks/celery-control.test.ts',
      // Python workers and clients again (canvas across both kinds of worker, two-worker remote control).
      'test/tasks/{celery-canvas,celery-canvas-nested,celery-control-fleet}.test.ts',
      // Priorities are a classic-queue feature (RabbitMQ's quorum queues have none); this profile runs quorum.
      'test/tasks/priority.test.ts',
      // Python Celery again (event receiver, a Python worker next to a hotspot one), same single-node limits.
      'test/tasks/{celery-events,control-cli,control-admin}.test.ts',
      // Python Celery on one Redis node / its own Sentinel topology (interop_app.py takes one broker URL):
      // single-node by design, covered by the default profile.
      'test/tasks/{celery-sentinel,redis-broker/celery-interop}.test.ts',
      // Pure functions (no server): already covered by `npm test`, nothing cluster-specific to learn.
      'test/tasks/{message,result-meta,delay-routing,rate-limit}.test.ts',
      'test/sms/{segment,phone}.test.ts',
    ],
    globalSetup: ['test/support/cluster-setup.ts'],
    // For processes the tests spawn (they read process.env); test apps get it from test/support/app.ts.
    env: { AMQP_QUEUE_TYPE: 'quorum' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
})
