// Sends a Celery signature (a plain task, a chain, a group or a chord, as its JSON travels in messages) the way
// Celery's Signature.apply_async / _chain.run / group.apply_async / _chord.run would. Used after a task finishes
// (the next chain step, link callbacks, a chord body) and by the TypeScript canvas builder.
import { createHash } from 'node:crypto'
import type { EncodeTaskOptions, Signature } from '../message.ts'
import type { ChordStore } from './chord.ts'

export type Send = (opts: EncodeTaskOptions & { queue?: string }) => Promise<string>

export interface ApplyDeps {
  send: Send
  chords: ChordStore
}

/** The task that caused the send: parent_id / root_id of what it sends. null for a client's own send. */
export interface Parent {
  id: string
  rootId: string | null
}

/**
 * A task id derived from where a signature is sent from (its parent and role), for signatures that carry no
 * frozen `task_id`: a worker that crashed after sending and runs the task again sends the same id, and the
 * duplicate is recognised (a finished task is never run twice). Formatted as a UUID (version 5 bits).
 */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\u0000')).digest('hex')
  const variant = ((Number.parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
const list = (v: unknown) => (Array.isArray(v) ? (v as Signature[]) : null)
const signatureOf = (v: unknown) =>
  v && typeof v === 'object' && typeof (v as Signature).task === 'string' ? (v as Signature) : null
const optionsOf = (sig: Signature) => (sig.options ?? {}) as Record<string, unknown>

/** The member signatures of a chain or group (`kwargs.tasks`), of a chord header (a list or a group). */
function members(value: unknown): Signature[] {
  if (Array.isArray(value)) return value as Signature[]
  const sig = value as Signature | undefined
  if (sig && sig.subtask_type === 'group') return members(sig.kwargs?.tasks)
  return sig && typeof sig.task === 'string' ? [sig] : []
}

function withOptions(sig: Signature, extra: Record<string, unknown>): Signature {
  return { ...sig, options: { ...optionsOf(sig), ...extra } }
}

/** A group's members with nested groups flattened into it, as Celery's group._freeze_unroll / _prepared do. */
export function unrollGroups(tasks: Signature[]): Signature[] {
  return tasks.flatMap((task) =>
    task.subtask_type === 'group' ? unrollGroups(members(task.kwargs?.tasks)) : [task],
  )
}

/**
 * How many part returns a header member makes (Celery's _chord._descend): a task 1, a group the sum of its
 * members, a chain its last non-empty step, a chord its body.
 */
function chordSize(sig: Signature): number {
  switch (sig.subtask_type) {
    case 'group':
      return members(sig.kwargs?.tasks).reduce((n, task) => n + chordSize(task), 0)
    case 'chain':
      for (const step of [...members(sig.kwargs?.tasks)].reverse()) {
        const size = chordSize(step)
        if (size > 0) return size
      }
      return 0
    case 'chord':
      return chordSize(sig.kwargs?.body as Signature)
    default:
      return 1
  }
}

/**
 * Marks the signature whose result a group member gives with `marks` (group_id, group_index, and for a chord
 * header the body under `chord`), as Celery's freeze(group_id=…, chord=…, group_index=…) does: a task itself, a
 * chain's last step, a chord's body, each member of a group (their index restarting at 0, as in Celery).
 */
function markMember(sig: Signature, marks: Record<string, unknown>): Signature {
  const kwargs = sig.kwargs ?? {}
  switch (sig.subtask_type) {
    case 'chain': {
      const steps = members(kwargs.tasks).slice()
      const last = steps.pop()
      if (!last) return sig
      return { ...sig, kwargs: { ...kwargs, tasks: [...steps, markMember(last, marks)] } }
    }
    case 'chord':
      return { ...sig, kwargs: { ...kwargs, body: markMember(kwargs.body as Signature, marks) } }
    case 'group': {
      const tasks = unrollGroups(members(kwargs.tasks)).map((task, i) =>
        markMember(task, { ...marks, group_index: i }),
      )
      return { ...sig, kwargs: { ...kwargs, tasks } }
    }
    default:
      return withOptions(sig, marks)
  }
}

/** A chain signature of `steps` (Celery's celery.chain JSON). */
export function chainSignature(steps: Signature[]): Signature {
  return {
    task: 'celery.chain',
    args: [],
    kwargs: { tasks: steps },
    options: {},
    subtask_type: 'chain',
    immutable: false,
  }
}

/**
 * Sends `sig` with `prepend` before its own args (unless immutable), `chain` (reversed: last runs next) to run
 * after it, and `fallbackId` as its id when it has no frozen task_id. Resolves with the id a caller waits on:
 * the task's, a chain's last step, a group's id, a chord body's.
 */
export async function applySignature(
  deps: ApplyDeps,
  sig: Signature,
  prepend: unknown[],
  parent: Parent | null,
  chain: Signature[] | null,
  fallbackId: string,
): Promise<string> {
  const options = optionsOf(sig)
  const args = sig.immutable ? [] : prepend
  switch (sig.subtask_type) {
    case 'chain': {
      const steps = members(sig.kwargs?.tasks)
      const [first, ...rest] = steps
      if (!first) return fallbackId
      // Steps of an inner chain run before whatever followed it in the outer one.
      const after = [...(chain ?? []), ...rest.reverse()]
      const firstId = await applySignature(deps, first, args, parent, after.length ? after : null, fallbackId)
      const last = steps[steps.length - 1] as Signature
      return str(optionsOf(last).task_id) ?? firstId
    }
    case 'group': {
      const groupId = str(options.task_id) ?? fallbackId
      if (chain?.length) {
        // A group followed by more steps is a chord (Celery upgrades it the same way).
        const body = chainSignature([...chain].reverse())
        return applyChord(deps, groupId, members(sig.kwargs?.tasks), body, args, parent)
      }
      const tasks = unrollGroups(members(sig.kwargs?.tasks))
      for (const [i, task] of tasks.entries()) {
        await applySignature(
          deps,
          markMember(task, { group_id: groupId, group_index: i }),
          args,
          parent,
          null,
          derivedId(groupId, 'member', String(i)),
        )
      }
      return groupId
    }
    case 'chord': {
      const kwargs = sig.kwargs ?? {}
      const header = kwargs.header as Signature | Signature[] | undefined
      const headerOptions = Array.isArray(header) || !header ? {} : optionsOf(header)
      const groupId = str(headerOptions.task_id) ?? str(options.task_id) ?? fallbackId
      let body = kwargs.body as Signature
      if (chain?.length) body = chainSignature([body, ...[...chain].reverse()])
      return applyChord(deps, groupId, members(header), body, args, parent)
    }
    default:
      return sendTask(deps.send, sig, args, parent, chain, fallbackId)
  }
}

/** Celery's _chord.run with the Redis backend: the size under `<gid>.s` first, then the header tasks. */
async function applyChord(
  deps: ApplyDeps,
  groupId: string,
  header: Signature[],
  body: Signature,
  args: unknown[],
  parent: Parent | null,
): Promise<string> {
  const frozenBody = freezeBody(body, groupId)
  const bodyId = lastTaskId(frozenBody) ?? derivedId(groupId, 'body')
  if (unrollGroups(header).length === 0) {
    // Celery: an empty header never completes, so the body is called at once with [].
    return applySignature(deps, frozenBody, [[]], parent, null, bodyId)
  }
  const tasks = unrollGroups(header)
  await deps.chords.setChordSize(
    groupId,
    tasks.reduce((n, task) => n + chordSize(task), 0),
  )
  for (const [i, task] of tasks.entries()) {
    await applySignature(
      deps,
      markMember(task, { group_id: groupId, group_index: i, chord: frozenBody }),
      args,
      parent,
      null,
      derivedId(groupId, 'member', String(i)),
    )
  }
  return bodyId
}

/** Gives a chord body (or each step of a chain body) a task id, so every sender of it sends the same one. */
function freezeBody(body: Signature, groupId: string): Signature {
  if (body.subtask_type === 'chain') {
    const steps = members(body.kwargs?.tasks).map((s, i) => freezeBody(s, `${groupId}:${i}`))
    return { ...body, kwargs: { ...body.kwargs, tasks: steps } }
  }
  if (body.subtask_type) return body
  const options = optionsOf(body)
  return str(options.task_id) ? body : withOptions(body, { task_id: derivedId(groupId, 'body') })
}

function lastTaskId(sig: Signature): string | undefined {
  if (sig.subtask_type === 'chain') {
    const steps = members(sig.kwargs?.tasks)
    return steps.length ? lastTaskId(steps[steps.length - 1] as Signature) : undefined
  }
  return str(optionsOf(sig).task_id)
}

/** One task message, as Signature.apply_async(args, **options) writes it. */
function sendTask(
  send: Send,
  sig: Signature,
  args: unknown[],
  parent: Parent | null,
  chain: Signature[] | null,
  fallbackId: string,
): Promise<string> {
  const options = optionsOf(sig)
  const taskId = str(options.task_id) ?? fallbackId
  return send({
    name: sig.task,
    args: [...args, ...(sig.args ?? [])],
    kwargs: sig.kwargs ?? {},
    taskId,
    parentId: parent?.id ?? null,
    rootId: parent ? (parent.rootId ?? parent.id) : (str(options.root_id) ?? taskId),
    groupId: str(options.group_id) ?? null,
    groupIndex: typeof options.group_index === 'number' ? options.group_index : null,
    priority: typeof options.priority === 'number' ? options.priority : undefined,
    replyTo: str(options.reply_to),
    queue: str(options.queue),
    eta: typeof options.countdown === 'number' ? new Date(Date.now() + options.countdown * 1000) : undefined,
    // A chord header member's own `chord` option (a chain's last step, a nested chord's body): Celery sends it on.
    embed: {
      chain,
      callbacks: list(options.link),
      errbacks: list(options.link_error),
      chord: signatureOf(options.chord),
    },
  })
}
