/**
 * Buffers in the kernels' WebAssembly linear memory.
 *
 * A {@link Storage} owns one 16-byte-aligned block. It is freed eagerly by
 * `dispose()`, or, when it becomes unreachable, by a FinalizationRegistry.
 * See the comment on {@link registry} for how memory stays bounded without
 * manual frees.
 * @module
 */
import { BYTES_PER_ELEMENT, type DType, type TypedArrayFor } from "./dtype.ts";
import { memory, wasm } from "./wasm.ts";

interface Held {
  ptr: number;
  bytes: number;
}

let liveBytes = 0;
let liveStorages = 0;
/** The most bytes live at once since the last {@link resetPeakMemory}. */
let peakLiveBytes = 0;

function release(h: Held): void {
  if (h.ptr === 0) return;
  wasm.free(h.ptr, h.bytes);
  liveBytes -= h.bytes;
  liveStorages--;
  h.ptr = 0;
}

/**
 * Frees the blocks of unreachable storages.
 *
 * V8 does not count wasm linear memory as GC pressure, and finalization
 * callbacks only run between tasks, so this registry alone frees late; the
 * pressure valve in {@link allocate} compensates (see there).
 */
const registry = new FinalizationRegistry<Held>(release);

/** A buffer of `length` elements of `dtype` in wasm linear memory. */
export class Storage {
  /** Byte address in linear memory (0 once disposed). */
  #held: Held;
  /** Element count. */
  readonly length: number;
  /** Element type. */
  readonly dtype: DType;

  /**
   * Keeps V8's GC pace proportional to wasm bytes (see SHADOW_CHUNK): null
   * once collectable without one, undefined before.
   */
  #shadow: ArrayBuffer | null | undefined;

  /**
   * @internal Holders: tensors handed to user code and long-lived library
   * structures (jit programs, vjp closures, the scalar cache) that need the
   * buffer (ARCHITECTURE.md ("Buffers and lifetimes")). An arena never frees a held storage.
   */
  _refs = 0;

  /** @internal Use {@link allocate} or {@link fromArray}. */
  constructor(held: Held, length: number, dtype: DType) {
    this.#held = held;
    this.length = length;
    this.dtype = dtype;
  }

  /**
   * @internal Hands the storage to the garbage collector: registers it for
   * finalization; every SHADOW_CHUNK bytes of such storages, one of them
   * carries a shadow of their total size, which paces GC. The storage that
   * takes the total past the chunk gets it when the next top-level call
   * starts ({@link settleShadows}), if what the total counts is still live
   * then: a loop that disposes a large result before its next call pays
   * for none.
   */
  _collectable(): void {
    const h = this.#held;
    unshadowed += h.bytes;
    this.#shadow = null;
    if (unshadowed >= SHADOW_CHUNK && dueOwner === null) dueOwner = this;
    registry.register(this, h, this);
  }

  /** @internal Carries the shadow of every unshadowed byte (see {@link settleShadows}). */
  _shadowAll(): void {
    this.#shadow = new ArrayBuffer(unshadowed);
    unshadowed = 0;
    shadows++;
  }

  /** Byte address of the first element in linear memory. */
  get ptr(): number {
    const p = this.#held.ptr;
    if (p === 0) throw new Error(this._deadMessage ?? "tensor was disposed");
    return p;
  }

  /** @internal Why a storage that never had a buffer cannot be read (see {@link deadStorage}). */
  _deadMessage: string | undefined;

  /** Frees the buffer now. Idempotent. */
  dispose(): void {
    if (this.#held.ptr === 0) return;
    registry.unregister(this);
    // Freed now, so its bytes need no shadow (when none stands for them yet).
    if (this.#shadow === null) {
      unshadowed = Math.max(0, unshadowed - this.#held.bytes);
    }
    release(this.#held);
    this.#shadow = undefined;
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.#held.ptr === 0;
  }

  /** `using` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A storage with no buffer whose every read throws `message`: what a
 * tensor given away (donated to a jit call) points at afterwards.
 */
export function deadStorage(
  length: number,
  dtype: DType,
  message: string,
): Storage {
  const s = new Storage({ ptr: 0, bytes: 0 }, length, dtype);
  s._deadMessage = message;
  return s;
}

// ---- GC pressure valve ------------------------------------------------------
//
// Measured in Deno 2.9.6 / V8 (tests/memory_test.ts; 10,000 iterations, each
// dropping two 64 KiB float32 temporaries = 1.25 GiB allocated in total):
//
// * A FinalizationRegistry callback runs only after (1) a GC found the
//   Storage unreachable and (2) the event loop turned (a macrotask; an
//   `await` on a resolved promise is not enough). In a fully synchronous loop
//   nothing can be reclaimed: the heap reached 1.25 GiB. No JS mechanism can
//   detect unreachability synchronously (WeakRef targets created in the
//   current job are kept alive until it ends), so synchronous loops need
//   `dispose()`/`using`, or eager frees of internal temporaries by the
//   layer that creates them.
// * With a macrotask every 100 iterations but the registry alone, the heap
//   peaked at 233 MiB: V8 never GCs because of wasm memory, and a Storage is
//   a ~100-byte JS object, so GCs come ~600x too rarely.
// * Valve (below): storages handed to the GC carry zero-filled ArrayBuffer
//   "shadows" of their byte size in total. V8 counts ArrayBuffer backing
//   stores as external memory and starts a GC when it has grown ~64 MiB
//   since the last one, so GC frequency now follows wasm bytes: the same
//   loop peaked at 52 MiB. Large shadows come from calloc/mmap and are never
//   touched, so they mostly cost address space, not resident pages.
// * One shadow per storage cost 5-15 µs each (more on a loaded machine),
//   as much as the kernel behind a 256 KiB result. So the bytes of
//   collectable storages add up, and the storage that takes the total past
//   SHADOW_CHUNK carries one shadow of all of it: the same external bytes
//   at a 256th of the allocations for results of 16 KiB. Pacing is by bytes
//   either way; a shadow outliving the storages it stands for (its owner
//   lives on) only raises V8's estimate of live external memory.
// * A shadow costs about its size in page faults and zeroing, whatever the
//   allocator: 120-250 µs per MiB (Deno 2.9; glibc's mmap threshold rises
//   after the first large free, so later shadows come from the heap and are
//   zeroed). A disposed storage takes its bytes back out of the running
//   total, so a loop that disposes its results pays for no shadow as long
//   as one step's results stay under SHADOW_CHUNK: at 1 MiB a jitted MLP
//   step (1.1 MiB of gradients, disposed each step) paid for a 1 MiB
//   shadow every step, 3-7 % of its time; at 4 MiB it pays nothing, and
//   garbage between shadows (4 MiB) stays far below V8's ~64 MiB trigger.
// Freed blocks are reused by the wasm allocator (dlmalloc's free lists), so
// the linear memory stops growing once the GC keeps up.
// * A shadow made the moment the total passed the chunk cost per-sample
//   MLP gradients (68 MiB of results per call, disposed before the next)
//   15 % of their time: 17 shadows a call for bytes already freed when GC
//   could first run. So the storage that passes the chunk is only noted,
//   and gets the shadow when the next top-level call starts, if the total
//   is still past the chunk: GC cannot run before then in a synchronous
//   loop anyway, so dropped results are paced as before, one call later.
const SHADOW_CHUNK = 1 << 22;
/** Bytes of collectable storages not yet stood for by a shadow. */
let unshadowed = 0;
/** The storage that took `unshadowed` past SHADOW_CHUNK, shadowless yet. */
export let dueOwner: Storage | null = null;

/**
 * @internal Called as a top-level library call starts (`inLibrary`, an
 * eager operation from user code, a tensor from an array): makes the shadow
 * that the storages since the last one owe (see `_collectable`), if their
 * bytes were not disposed meanwhile.
 */
export function settleShadows(): void {
  const s = dueOwner;
  if (s === null) return;
  dueOwner = null;
  // Disposed meanwhile: the next collectable storage past the chunk owes it.
  if (unshadowed >= SHADOW_CHUNK && !s.disposed) s._shadowAll();
}
/** Shadows allocated so far. */
let shadows = 0;

/** @internal Shadows allocated so far (tests of GC pacing). */
export function shadowCount(): number {
  return shadows;
}

function fail(what: string): never {
  throw new RangeError(what);
}

/**
 * The largest single buffer, in bytes. The kernels are Rust, whose
 * allocations and slices are capped at `isize::MAX` (2 GiB - 1 on wasm32),
 * rounded down to the 16-byte block alignment.
 */
export const MAX_BUFFER_BYTES = 2 ** 31 - 16;

/** wasm32 linear memory cannot grow past 4 GiB. */
const MEMORY_LIMIT_BYTES = 2 ** 32;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** "shape [a, b] (n elements) of float32 (k bytes)" for error messages. */
function request(
  dtype: DType,
  length: number,
  bytes: number,
  shape?: readonly number[],
): string {
  const what = shape === undefined
    ? `${length} elements`
    : `shape [${shape.join(", ")}] (${length} elements)`;
  return `${what} of ${dtype} (${bytes} bytes)`;
}

/**
 * The byte count of `length` elements of `dtype`, checked before any of it
 * reaches the kernels (a byte count at or above 2^32 would wrap to a small
 * block that the kernel then overruns). Throws a RangeError naming the
 * element count, dtype, bytes and, when given, the shape.
 */
export function checkedBytes(
  dtype: DType,
  length: number,
  shape?: readonly number[],
): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    const of = shape === undefined ? "" : ` (shape [${shape.join(", ")}])`;
    fail(
      `allocate: the element count must be a non-negative integer, got ${length}${of}`,
    );
  }
  const bytes = length * BYTES_PER_ELEMENT[dtype];
  if (bytes > MAX_BUFFER_BYTES) {
    fail(
      `cannot allocate ${
        request(dtype, length, bytes, shape)
      }: one buffer holds at most ${MAX_BUFFER_BYTES} bytes (2 GiB, the ` +
        `wasm32 limit of the kernels), and all of WebAssembly memory is 4 GiB`,
    );
  }
  return bytes;
}

/**
 * The error for a request that the 4 GiB of WebAssembly memory cannot
 * satisfy now: what was asked for, what is live, and what to do about it.
 * Used by {@link allocate} and by callers whose kernels report running out
 * of memory (matmul packing, the jit executor).
 */
export function outOfMemoryError(what: string): RangeError {
  return new RangeError(
    `out of WebAssembly memory: cannot allocate ${what}. ${liveBytes} bytes ` +
      `(${mib(liveBytes)}) are live in ${liveStorages} buffers; memory is ` +
      `${mib(memory.buffer.byteLength)} of at most ${
        mib(MEMORY_LIMIT_BYTES)
      }. Free tensors you no longer need with dispose() or a \`using\` ` +
      `declaration, and in a loop await between steps (e.g. ` +
      `\`await new Promise((r) => setTimeout(r, 0))\`) so the garbage ` +
      `collector can free unreachable tensors; finalizers never run inside ` +
      `one synchronous loop.`,
  );
}

/**
 * Allocates `length` uninitialised elements. `shape`, when the caller knows
 * it, makes the error of a size that cannot be allocated name it.
 */
export function allocate(
  dtype: DType,
  length: number,
  shape?: readonly number[],
): Storage {
  const bytes = checkedBytes(dtype, length, shape);
  // The raw export returns an i32: addresses at or above 2 GiB come back
  // negative, so read it as unsigned.
  const ptr = wasm.alloc(bytes) >>> 0;
  if (ptr === 0) {
    throw outOfMemoryError(request(dtype, length, bytes, shape));
  }
  return adopt(ptr, dtype, length);
}

/**
 * @internal Takes ownership of `ptr`, a block of exactly `length` elements
 * of `dtype` from the wasm allocator that no Storage owns yet (an output
 * that `run_program` allocated). Accounting, arena and finalization are
 * those of {@link allocate}, so the caller may treat it like any result.
 */
export function adopt(ptr: number, dtype: DType, length: number): Storage {
  const bytes = length * BYTES_PER_ELEMENT[dtype];
  const held: Held = { ptr, bytes };
  const s = new Storage(held, length, dtype);
  liveBytes += bytes;
  liveStorages++;
  if (liveBytes > peakLiveBytes) peakLiveBytes = liveBytes;
  // Inside an arena the storage is handed to the GC only if it outlives it:
  // most temporaries never pay for a shadow, register and unregister.
  if (arena !== null) arena.push(s, held);
  else s._collectable();
  return s;
}

// ---- Arenas -----------------------------------------------------------------
//
// Finalizers never run inside a synchronous loop, so a loop of transform
// calls (an optimiser's `for` loop) would hold every temporary until it
// yields. A transform that returns only values opens an arena: storages
// allocated during the call that its result does not use are freed when it
// returns (see src/transforms/arena.ts).
// (Flat pairs: storage, then its Held; one array for the whole call.)
let arena: (Storage | Held)[] | null = null;

/**
 * Runs `body`, then frees every storage it allocated except those `keep`
 * returns for its result and those with holders (`_refs > 0`), or all
 * unheld ones if it throws. `keep` returning null keeps everything (the
 * result may reference anything); `allocated()` gives it the storages the
 * body allocated.
 */
export function releaseTemporaries<T>(
  body: () => T,
  keep: (
    result: T,
    allocated: () => ReadonlySet<Storage>,
  ) => ReadonlySet<Storage> | null,
): T {
  const prev = arena;
  const mine: (Storage | Held)[] = [];
  arena = mine;
  let result: T;
  try {
    result = body();
  } catch (e) {
    arena = prev;
    for (let i = 0; i < mine.length; i += 2) {
      const s = mine[i] as Storage, h = mine[i + 1] as Held;
      if (h.ptr === 0) continue;
      if (s._refs === 0) release(h);
      else if (prev !== null) prev.push(s, h);
      else s._collectable();
    }
    throw e;
  }
  arena = prev;
  const kept = keep(result, () => {
    const set = new Set<Storage>();
    for (let i = 0; i < mine.length; i += 2) set.add(mine[i] as Storage);
    return set;
  });
  for (let i = 0; i < mine.length; i += 2) {
    const s = mine[i] as Storage, h = mine[i + 1] as Held;
    if (h.ptr === 0) continue; // disposed already
    if (kept !== null && !kept.has(s) && s._refs === 0) release(h);
    else if (prev !== null) prev.push(s, h);
    else s._collectable();
  }
  return result;
}

/** Runs `body` with no arena recording (for long-lived caches). */
export function untracked<T>(body: () => T): T {
  const prev = arena;
  arena = null;
  try {
    return body();
  } finally {
    arena = prev;
  }
}

let cachedBuffer: ArrayBufferLike | undefined;
let f32: Float32Array = new Float32Array(0);
let f64: Float64Array = new Float64Array(0);
let i32: Int32Array = new Int32Array(0);

function refresh(): void {
  const b = memory.buffer;
  if (b !== cachedBuffer) {
    cachedBuffer = b;
    f32 = new Float32Array(b);
    f64 = new Float64Array(b);
    i32 = new Int32Array(b);
  }
}

/** A view over ALL of linear memory for `dtype` (fresh after growth). */
export function heapView(dtype: DType): TypedArrayFor {
  refresh();
  return dtype === "float32" ? f32 : dtype === "float64" ? f64 : i32; // int32, bool
}

/** The i32 view over all of linear memory (fresh after growth). */
export function heapI32(): Int32Array {
  refresh();
  return i32;
}

/** Copies `data` into a new storage (of `shape`, for error messages). */
export function fromArray(
  dtype: DType,
  data: ArrayLike<number>,
  shape?: readonly number[],
): Storage {
  // (A loop that only makes tensors from arrays starts no library call.)
  settleShadows();
  const s = allocate(dtype, data.length, shape);
  if (data.length > 0) {
    heapView(dtype).set(data, s.ptr / BYTES_PER_ELEMENT[dtype]);
  }
  return s;
}

/** A copy of the storage's elements. */
export function toTypedArray(s: Storage): TypedArrayFor {
  const start = s.ptr / BYTES_PER_ELEMENT[s.dtype];
  return heapView(s.dtype).slice(start, start + s.length);
}

/** Reads element `index`. */
export function readElement(s: Storage, index: number): number {
  if (!(index >= 0 && index < s.length && Number.isInteger(index))) {
    fail(
      `readElement: index ${index} is out of range for a storage of length ${s.length}`,
    );
  }
  return heapView(s.dtype)[s.ptr / BYTES_PER_ELEMENT[s.dtype] + index];
}

/**
 * Memory accounting: wasm memory size, bytes and storages alive.
 *
 * @example
 * ```ts
 * import { memoryStats, randn } from "./mod.ts";
 * const before = memoryStats().liveBytes;
 * {
 *   using x = randn([1024]); // freed at the end of the block
 * }
 * console.log(memoryStats().liveBytes - before); // 0
 * ```
 */
export function memoryStats(): {
  heapBytes: number;
  liveBytes: number;
  liveStorages: number;
  peakLiveBytes: number;
} {
  return {
    heapBytes: memory.buffer.byteLength,
    liveBytes,
    liveStorages,
    peakLiveBytes,
  };
}

/**
 * Starts a new measurement of `memoryStats().peakLiveBytes` (the most
 * bytes live at once in tensor buffers) from the bytes live now. Buffers
 * the jit executor allocates and frees inside one program run are not
 * tensors and are not counted.
 *
 * @example
 * ```ts
 * import { grad, memoryStats, resetPeakMemory, tensor } from "./mod.ts";
 * const x = tensor([1, 2, 3]);
 * resetPeakMemory();
 * const before = memoryStats().liveBytes;
 * grad((x) => x.sin().sum())(x);
 * console.log(memoryStats().peakLiveBytes - before); // bytes the call needed at its peak
 * ```
 */
export function resetPeakMemory(): void {
  peakLiveBytes = liveBytes;
}
