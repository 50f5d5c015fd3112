/**
 * The arena of a compiled program: one block of wasm memory that holds the
 * program's intermediates at offsets laid out by liveness when the plan is
 * built, so that a run allocates only the buffers it returns. Why: a
 * small jitted step (an MLP update, a Hessian at n = 64) otherwise calls
 * the allocator twice per intermediate on every call.
 *
 * Which slots qualify: those the executor allocates (not inputs or
 * constants), that the program does not return, that no `OP_MOVE` touches
 * (loop carries and branch results change buffers at run time) and that
 * are allocated and freed exactly once in the stream, inside the same
 * block (a loop body, a branch, or the top level). A slot's live range is
 * the words between the point its allocating instruction was written and
 * its `OP_FREE`; a loop body repeats inside the range of everything
 * allocated before it and freed after it, so two slots whose ranges do
 * not overlap never hold values at the same time, and may share bytes.
 * Slots of different branches of a cond never overlap either, which is
 * right: only one branch runs.
 * @module
 */
import { OP } from "../backend/wasm/program_codes.ts";

/** Where each slot of the arena lives, and how big the arena is. */
export interface ArenaLayout {
  /** Bytes of the whole block (a multiple of 16). */
  readonly bytes: number;
  /** Slot → byte offset (multiples of 16). */
  readonly offsets: ReadonlyMap<number, number>;
}

/** What the program writer recorded about a slot's allocation and frees. */
export interface SlotEvents {
  /** Slots the executor allocates. */
  readonly owned: readonly number[];
  /** Stream position (words) at which each owned slot was created. */
  readonly bornAt: ReadonlyMap<number, number>;
  /** Stream positions of each slot's `OP_FREE` instructions. */
  readonly freedAt: ReadonlyMap<number, readonly number[]>;
  /** Slots an `OP_MOVE` reads or writes. */
  readonly moved: ReadonlySet<number>;
  /** Slots that hold the program's results. */
  readonly held: ReadonlySet<number>;
  /** Bytes of a slot's buffer. */
  bytes(slot: number): number;
}

/**
 * Word offsets, from the instruction at `pc`, of the lengths of the blocks
 * that follow it: a loop's body, each branch of a cond, a while's
 * condition and body (none for other instructions).
 */
function blockLengthFields(words: readonly number[], pc: number): number[] {
  const op = words[pc], len = words[pc + 1];
  if (op === OP.loop) return [4];
  if (op === OP.cond) return Array.from({ length: len - 5 }, (_, j) => 5 + j);
  if (op === OP.while) return [4, 5];
  return [];
}

/**
 * The blocks of a stream (`[MAGIC, nslots, instr...]`) as word ranges
 * `[start, end)`: loop bodies, cond branches, while conditions and bodies.
 */
export function streamBlocks(words: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  const walk = (from: number, to: number) => {
    let pc = from;
    while (pc < to) {
      let s = pc + words[pc + 1];
      for (const k of blockLengthFields(words, pc)) {
        const l = words[pc + k];
        out.push([s, s + l]);
        walk(s, s + l);
        s += l;
      }
      pc = s;
    }
  };
  walk(2, words.length);
  return out;
}

/** The innermost block holding word `pc` (-1: the top level). */
function innermost(blocks: readonly [number, number][], pc: number): number {
  let best = -1;
  blocks.forEach(([s, e], i) => {
    if (
      s <= pc && pc < e &&
      (best < 0 || e - s <= blocks[best][1] - blocks[best][0])
    ) {
      best = i;
    }
  });
  return best;
}

const ALIGN = 16;

/**
 * Lays out the qualifying slots of a stream in one arena: intervals sorted
 * by start, each placed at the lowest 16-byte-aligned offset where no
 * overlapping interval sits (first fit).
 */
export function layoutArena(
  words: readonly number[],
  ev: SlotEvents,
): ArenaLayout {
  const blocks = streamBlocks(words);
  const items: { slot: number; from: number; to: number; size: number }[] = [];
  for (const s of ev.owned) {
    const frees = ev.freedAt.get(s) ?? [];
    if (ev.held.has(s) || ev.moved.has(s) || frees.length !== 1) continue;
    const from = ev.bornAt.get(s)!, to = frees[0];
    if (innermost(blocks, from) !== innermost(blocks, to)) continue;
    const size = Math.max(ALIGN, Math.ceil(ev.bytes(s) / ALIGN) * ALIGN);
    items.push({ slot: s, from, to, size });
  }
  items.sort((a, b) => a.from - b.from || a.slot - b.slot);
  const offsets = new Map<number, number>();
  // Placed intervals still live, ordered by offset.
  let active: { off: number; size: number; to: number }[] = [];
  let bytes = 0;
  for (const it of items) {
    active = active.filter((a) => a.to >= it.from);
    let off = 0, k = 0;
    for (; k < active.length; k++) {
      if (active[k].off - off >= it.size) break;
      off = Math.max(off, active[k].off + active[k].size);
    }
    active.splice(k, 0, { off, size: it.size, to: it.to });
    offsets.set(it.slot, off);
    bytes = Math.max(bytes, off + it.size);
  }
  return { bytes, offsets };
}

/**
 * The stream without the `OP_FREE` instructions of arena slots, and for
 * each instruction kept, where it started in `words`. Why: freeing an
 * arena slot only empties it, and in a small loop body those frees are
 * about a third of the instructions dispatched per step; the executor
 * lets an instruction write an arena slot that still holds its own arena
 * address. Block lengths (loop bodies, branches, while blocks) are
 * rewritten to match.
 */
export function dropArenaFrees(
  words: readonly number[],
  inArena: ReadonlyMap<number, number>,
): { words: number[]; from: number[] } {
  const out: number[] = [words[0], words[1]];
  const from: number[] = [];
  /** Copies the instructions in `[start, end)`; returns the words written. */
  const copy = (start: number, end: number): number => {
    const before = out.length;
    let pc = start;
    while (pc < end) {
      const op = words[pc], len = words[pc + 1], at = pc + len;
      if (op === OP.free && inArena.has(words[pc + 2])) {
        pc = at;
        continue;
      }
      const head = out.length;
      from.push(pc);
      for (let i = pc; i < at; i++) out.push(words[i]);
      // Block lengths, patched as their blocks are copied.
      let s = at;
      for (const k of blockLengthFields(words, pc)) {
        const l = words[pc + k];
        out[head + k] = copy(s, s + l);
        s += l;
      }
      pc = s;
    }
    return out.length - before;
  };
  copy(2, words.length);
  return { words: out, from };
}
