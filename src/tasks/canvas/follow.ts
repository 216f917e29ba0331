// What Celery's tracer (celery/app/trace.py) does after a task: on success the next chain step and the
// `link` callbacks get the result prepended to their args (unless immutable); on a final failure the
// `link_error` errbacks get the failed task's id. parent_id is the finished task, root_id is carried on.
import type { DecodedTask, EncodeTaskOptions, Signature } from '../message.ts'

type Send = (opts: EncodeTaskOptions & { queue?: string }) => Promise<string>

/** Sends one signature as Celery's Signature.apply_async(args, **options) would. */
function sendSignature(
  send: Send,
  sig: Signature,
  prepend: unknown[],
  parent: DecodedTask,
  chain: Signature[] | null,
) {
  const options = (sig.options ?? {}) as Record<string, unknown>
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  const list = (v: unknown) => (Array.isArray(v) ? (v as Signature[]) : null)
  return send({
    name: sig.task,
    args: sig.immutable ? (sig.args ?? []) : [...prepend, ...(sig.args ?? [])],
    kwargs: sig.kwargs ?? {},
    taskId: str(options.task_id),
    parentId: parent.id,
    rootId: parent.rootId ?? parent.id,
    groupId: str(options.group_id) ?? null,
    groupIndex: typeof options.group_index === 'number' ? options.group_index : null,
    priority: typeof options.priority === 'number' ? options.priority : undefined,
    replyTo: str(options.reply_to),
    queue: str(options.queue),
    embed: { chain, callbacks: list(options.link), errbacks: list(options.link_error), chord: null },
  })
}

/** After SUCCESS: the `link` callbacks, then the next step of the chain (the last element: it is reversed). */
export async function followSuccess(send: Send, task: DecodedTask, value: unknown) {
  for (const callback of task.embed.callbacks ?? []) await sendSignature(send, callback, [value], task, null)
  const chain = task.embed.chain ?? []
  if (chain.length > 0) {
    const next = chain[chain.length - 1] as Signature
    const rest = chain.slice(0, -1)
    await sendSignature(send, next, [value], task, rest.length > 0 ? rest : null)
  }
}

/** After a final FAILURE: the errbacks get the failed task's id; the rest of the chain never runs. */
export async function followFailure(send: Send, task: DecodedTask) {
  for (const errback of task.embed.errbacks ?? []) await sendSignature(send, errback, [task.id], task, null)
}
