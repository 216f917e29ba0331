// What Celery's tracer and result backend do after a task (celery/app/trace.py, celery/backends/base.py
// mark_as_done / mark_as_failure, celery/backends/redis.py on_chord_part_return): on success the `link`
// callbacks and the next chain step get the result prepended (unless immutable); on a final failure the
// `link_error` errbacks get the failed task's id and the rest of the chain is marked failed too; a chord header
// task records its part and the one that completes the chord sends the body. parent_id is the finished task,
// root_id is carried on.
//
// Unlike Celery, after a success all of it happens *before* SUCCESS is stored, and every id sent is frozen or
// derived (derivedId): a worker that dies in between has stored nothing, the message is delivered again, and the
// second run sends the same ids, so a crash can no longer lose a chain step or a chord body. (A FAILURE or
// REVOKED state does not stop a redelivered message from being handled again, so those keep Celery's order.)
import type { DecodedTask, Signature } from '../message.ts'
import { type CeleryException, celeryException, type ResultMetaInput } from '../result-meta.ts'
import { type ApplyDeps, applySignature, derivedId } from './apply.ts'
import type { ChordPart } from './chord.ts'

export interface FollowDeps extends ApplyDeps {
  store(input: ResultMetaInput): Promise<void>
}

/** States after which a chord header part makes the body fail (Celery's PROPAGATE_STATES). */
const PROPAGATE = new Set(['FAILURE', 'REVOKED'])

/** Whether a success has anything to follow: most tasks are neither linked, chained nor chord parts. */
export function hasFollowers(task: DecodedTask): boolean {
  return Boolean(
    task.embed.callbacks?.length || task.embed.chain?.length || (task.embed.chord && task.groupId),
  )
}

/** After SUCCESS: the `link` callbacks, the next step of the chain (the last element: it is reversed), the chord. */
export async function followSuccess(deps: FollowDeps, task: DecodedTask, value: unknown) {
  if (!hasFollowers(task)) return
  const parent = { id: task.id, rootId: task.rootId }
  for (const [i, callback] of (task.embed.callbacks ?? []).entries())
    await applySignature(deps, callback, [value], parent, null, derivedId(task.id, 'link', String(i)))
  const chain = task.embed.chain ?? []
  const next = chain[chain.length - 1]
  if (next) {
    const rest = chain.slice(0, -1)
    await applySignature(deps, next, [value], parent, rest.length ? rest : null, derivedId(task.id, 'chain'))
  }
  await chordPartReturn(deps, task, 'SUCCESS', value)
}

/**
 * After a final FAILURE (or REVOKED): the remaining chain steps that have ids are stored with the same state, so
 * a client waiting on the chain's last result gets the error instead of a time-out; the chord part is recorded;
 * the errbacks get the failed task's id.
 */
export async function followFailure(
  deps: FollowDeps,
  task: DecodedTask,
  exception: CeleryException,
  state: 'FAILURE' | 'REVOKED' = 'FAILURE',
  traceback: string | null = null,
) {
  for (const step of task.embed.chain ?? []) {
    const taskId = step.options?.task_id
    if (typeof taskId === 'string' && taskId !== '')
      await deps.store({ taskId, status: state, result: exception, traceback })
  }
  await chordPartReturn(deps, task, state, exception)
  await callErrbacks(deps, task.embed.errbacks ?? [], { id: task.id, rootId: task.rootId })
}

async function callErrbacks(
  deps: FollowDeps,
  errbacks: Signature[],
  failed: { id: string; rootId: string | null },
) {
  for (const [i, errback] of errbacks.entries())
    await applySignature(
      deps,
      errback,
      [failed.id],
      failed,
      null,
      derivedId(failed.id, 'link_error', String(i)),
    )
}

/** Python's repr() of the exception a part stored: `ValueError('bad value')`. */
function exceptionRepr(value: unknown): string {
  const exc = (value ?? {}) as Partial<CeleryException>
  const args = Array.isArray(exc.exc_message) ? exc.exc_message : [exc.exc_message]
  const repr = args.map((a) => (typeof a === 'string' ? `'${a.replaceAll("'", "\\'")}'` : JSON.stringify(a)))
  return `${exc.exc_type ?? 'Exception'}(${repr.join(', ')})`
}

async function chordPartReturn(deps: FollowDeps, task: DecodedTask, state: string, result: unknown) {
  const body = task.embed.chord
  if (!body || !task.groupId) return
  const parts = await deps.chords.partReturn(
    { id: task.id, groupId: task.groupId, groupIndex: task.groupIndex },
    state,
    result,
  )
  if (!parts) return
  const bodyId = (body.options?.task_id as string | undefined) ?? derivedId(task.groupId, 'body')
  const failed = parts.find((p: ChordPart) => PROPAGATE.has(p[2]))
  if (failed) {
    // Celery's chord_error_from_stack: the body's errbacks get the body's id, the body fails with ChordError.
    const error = celeryException(
      'ChordError',
      [`Dependency ${failed[1]} raised ${exceptionRepr(failed[3])}`],
      'celery.exceptions',
    )
    await callErrbacks(deps, (body.options?.link_error as Signature[] | undefined) ?? [], {
      id: bodyId,
      rootId: bodyId,
    })
    await deps.store({ taskId: bodyId, status: 'FAILURE', result: error })
  } else {
    await applySignature(
      deps,
      body,
      [parts.map((p) => p[3])],
      { id: task.id, rootId: task.rootId },
      null,
      bodyId,
    )
  }
  // Only once the body went out: a send that failed leaves the parts for the run after the redelivery.
  await deps.chords.forget(task.groupId)
}

/** Celery's mark_as_revoked: only the chord part (no errbacks, the chain is not marked). */
export function followRevoked(deps: FollowDeps, task: DecodedTask, exception: CeleryException) {
  return chordPartReturn(deps, task, 'REVOKED', exception)
}
