// A typed builder for Celery canvases (chain, group, chord of signatures) whose messages Python Celery workers and
// hotspot workers run alike: `toCelery` writes Celery's own signature JSON (celery.chain / celery.group /
// celery.chord), frozen with task ids as Python's freeze() does, and `sendCanvas` sends it with the same code
// that follows a Python client's canvases (apply.ts).
import { randomUUID } from 'node:crypto'
import type { Signature } from '../message.ts'
import { type ApplyDeps, applySignature, unrollGroups } from './apply.ts'

export interface SignatureOptions {
  queue?: string
  taskId?: string
  priority?: number
  countdown?: number
  /** The previous step's result is not prepended (Celery's `.si()`). */
  immutable?: boolean
  /** Sent with the result prepended after success (Celery's `link`). */
  link?: TaskSignature[]
  /** Sent with the failed task's id after a final failure (Celery's `link_error`). */
  linkError?: TaskSignature[]
}

export interface TaskSignature {
  kind: 'task'
  name: string
  args: unknown[]
  kwargs: Record<string, unknown>
  options: SignatureOptions
}
export interface ChainCanvas {
  kind: 'chain'
  steps: Canvas[]
}
export interface GroupCanvas {
  kind: 'group'
  tasks: Canvas[]
  groupId?: string
}
export interface ChordCanvas {
  kind: 'chord'
  header: GroupCanvas
  body: Canvas
}
export type Canvas = TaskSignature | ChainCanvas | GroupCanvas | ChordCanvas

export function signature(
  name: string,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: SignatureOptions = {},
): TaskSignature {
  return { kind: 'task', name, args, kwargs, options }
}
export const chain = (...steps: Canvas[]): ChainCanvas => ({ kind: 'chain', steps })
export const group = (...tasks: Canvas[]): GroupCanvas => ({ kind: 'group', tasks })
export const chord = (header: Canvas[] | GroupCanvas, body: Canvas): ChordCanvas => ({
  kind: 'chord',
  header: Array.isArray(header) ? group(...header) : header,
  body,
})

/** Refused at send time: a canvas that contains itself, nests deeper than this, or has more signatures. */
export const MAX_CANVAS_DEPTH = 32
export const MAX_CANVAS_SIGNATURES = 10_000

export class CanvasError extends Error {
  override name = 'CanvasError'
}

/** Celery's JSON for a canvas, every task frozen with an id. Throws CanvasError on a cycle or absurd size. */
export function toCelery(canvas: Canvas): Signature {
  const path = new Set<object>()
  let count = 0
  const walk = (node: Canvas, depth: number): Signature => {
    if (path.has(node)) throw new CanvasError('the canvas contains itself (a cycle)')
    if (depth > MAX_CANVAS_DEPTH)
      throw new CanvasError(`the canvas nests deeper than ${MAX_CANVAS_DEPTH} levels`)
    if (++count > MAX_CANVAS_SIGNATURES)
      throw new CanvasError(`the canvas has more than ${MAX_CANVAS_SIGNATURES} signatures`)
    path.add(node)
    try {
      return convert(node, (child) => walk(child, depth + 1))
    } finally {
      path.delete(node)
    }
  }
  return walk(canvas, 0)
}

function convert(node: Canvas, walk: (child: Canvas) => Signature): Signature {
  switch (node.kind) {
    case 'task': {
      if (typeof node.name !== 'string' || node.name === '')
        throw new CanvasError('a signature needs a task name')
      const o = node.options
      const options: Record<string, unknown> = { task_id: o.taskId ?? randomUUID() }
      if (o.queue) options.queue = o.queue
      if (o.priority !== undefined) options.priority = o.priority
      if (o.countdown !== undefined) options.countdown = o.countdown
      if (o.link?.length) options.link = o.link.map(walk)
      if (o.linkError?.length) options.link_error = o.linkError.map(walk)
      return {
        task: node.name,
        args: node.args,
        kwargs: node.kwargs,
        options,
        subtask_type: null,
        immutable: o.immutable ?? false,
      }
    }
    case 'chain':
      if (node.steps.length === 0) throw new CanvasError('a chain needs at least one step')
      return celerySignature('celery.chain', 'chain', { tasks: node.steps.map(walk) }, {})
    case 'group': {
      const groupId = node.groupId ?? randomUUID()
      const tasks = node.tasks.map(walk)
      return celerySignature('celery.group', 'group', { tasks }, { task_id: groupId })
    }
    case 'chord': {
      const header = walk(node.header)
      return celerySignature('celery.chord', 'chord', { kwargs: {}, header, body: walk(node.body) }, {})
    }
    default:
      throw new CanvasError('not a canvas')
  }
}

function celerySignature(
  task: string,
  type: string,
  kwargs: Record<string, unknown>,
  options: Record<string, unknown>,
): Signature {
  return { task, args: [], kwargs, options, subtask_type: type, immutable: false }
}

export interface SentCanvas {
  /** The id to wait on: a task's, a chain's last step, a chord's body, or a group's id. */
  id: string
  /** For a chord: its header's group id (the chord's counters live under it until the body is sent). */
  groupId?: string
  /** For a group: its members' ids, saved as Celery's GroupResult (`GroupResult.restore(id)` in Python). */
  groupTaskIds?: string[]
}

/** Sends a canvas; resolves once the broker confirmed each message. */
export async function sendCanvas(deps: ApplyDeps, canvas: Canvas): Promise<SentCanvas> {
  const sig = toCelery(canvas)
  const id = await applySignature(deps, sig, [], null, null, randomUUID())
  if (sig.subtask_type === 'chord') return { id, groupId: String(chordHeader(sig).options?.task_id) }
  if (sig.subtask_type !== 'group') return { id }
  const ids = unrollGroups((sig.kwargs?.tasks ?? []) as Signature[]).map(resultId)
  await deps.chords.saveGroup(id, ids)
  return { id, groupTaskIds: ids }
}

/** The id whose result a member of a group gives: its own, or a chain's last step's. */
function resultId(sig: Signature): string {
  if (sig.subtask_type === 'chain') {
    const steps = (sig.kwargs?.tasks ?? []) as Signature[]
    return resultId(steps[steps.length - 1] as Signature)
  }
  return String(sig.options?.task_id)
}

const chordHeader = (sig: Signature) => sig.kwargs?.header as Signature
