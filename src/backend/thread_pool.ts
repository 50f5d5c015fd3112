/**
 * The worker pool behind multi-threaded kernels (WebAssembly threads).
 *
 * When the engine has shared memory, the kernels' memory is shared (see
 * wasm_instance.ts) and large matrix products (and large elementwise
 * instructions and reductions) split their work across threads: the kernel calls {@link threadImports}' `spawn` to hand parts to
 * workers, computes its own part, and calls `join`. Each worker runs its
 * own instance of the kernels over the same memory, on its own stack, and
 * does nothing but run parts (crates/kernels/src/parallel.rs). Workers and
 * the main thread talk only through atomics on a small shared control
 * array, so a synchronous loop that never yields still gets its workers.
 *
 * The pool starts at the first job large enough to split (so programs of
 * small tensors never start a thread), and runs
 * single-threaded until its workers are up. Workers come from
 * `node:worker_threads` where it exists (Node, Deno; unref'ed, so they never
 * keep a process alive) and from `Worker` on a Blob URL in browsers, which
 * also need cross-origin isolation for shared memory; without it everything
 * runs on one thread.
 * @module
 */

import { FUNCTION_TABLE } from "./wasm_binary.ts";

/** Int32 fields of one worker's slot in the control array. */
const SEQ = 0, JOB = 1, PART = 2, DONE = 3, STATE = 4, ERROR = 5, OFFER = 6;
/** Slots are 64 bytes apart so that two workers never share a cache line. */
const SLOT = 16;
const READY = 1, FAILED = 2;
/** The most threads (parallel.rs MAX_PARTS). */
export const MAX_THREADS = 16;
/**
 * After the workers' slots: how many compiled functions the main instance
 * has shared, and the address of their list in linear memory (for each,
 * u32 module address, byte length, function table index).
 */
const CODE_COUNT = MAX_THREADS * SLOT, CODE_LIST = CODE_COUNT + 1;
/** Compiled functions that can be shared (codegen.rs keeps as many). */
const MAX_SHARED_CODE = 4096;
/** Each worker's stack in linear memory. */
const STACK_BYTES = 256 * 1024;
/** How long an idle side spins before it sleeps (ms). */
const SPIN_MS = 0.2;

/**
 * The worker's whole program (plain JavaScript, for `eval` in Node's
 * worker_threads and for a Blob URL in browsers). It instantiates the
 * worker variant of the kernels on the shared memory and its own stack,
 * then loops: wait for SEQ to change, run the part, publish DONE.
 */
const WORKER_SOURCE = `"use strict";
const [SEQ, JOB, PART, DONE, STATE, ERROR, OFFER] = [${SEQ}, ${JOB}, ${PART}, ${DONE}, ${STATE}, ${ERROR}, ${OFFER}];
function start({ module, memory, ctrl, base, stackTop, stub }) {
  const imports = { env: {} };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") continue;
    const ns = (imports[imp.module] ??= {});
    ns[imp.name] = imp.name === "threads" ? () => 1 : () => {
      throw new Error("jacobi worker: " + imp.name + " is not available on a worker");
    };
  }
  imports.env.memory = memory;
  imports.env.__stack_pointer = new WebAssembly.Global({ value: "i32", mutable: true }, stackTop);
  let runPart, table, fallback;
  try {
    const exports = new WebAssembly.Instance(module, imports).exports;
    runPart = exports.run_part;
    table = exports.${FUNCTION_TABLE};
    // Stands in for code this worker could not compile: it sets the flag
    // word before the register addresses, and the executor interprets.
    fallback = new WebAssembly.Instance(new WebAssembly.Module(stub), { env: { memory } }).exports.run;
    if (!table || !fallback) throw new Error("no function table");
  } catch (e) {
    Atomics.store(ctrl, base + STATE, ${FAILED});
    Atomics.notify(ctrl, base + STATE);
    return;
  }
  Atomics.store(ctrl, base + STATE, ${READY});
  Atomics.notify(ctrl, base + STATE);
  // Puts the main instance's compiled functions (codegen.ts) into this
  // instance's table at the same indices, before any part can call them.
  let synced = 0;
  function sync(count) {
    const list = new Uint32Array(memory.buffer, ctrl[${CODE_LIST}] >>> 0, 3 * count);
    for (; synced < count; synced++) {
      const [at, len, index] = list.subarray(3 * synced, 3 * synced + 3);
      let run = fallback;
      try {
        const bytes = new Uint8Array(memory.buffer, at, len).slice();
        run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.run;
      } catch (e) {}
      if (table.length <= index) table.grow(index + 1 - table.length, fallback);
      table.set(index, run);
    }
  }
  let seen = 0;
  for (;;) {
    let seq = Atomics.load(ctrl, base + SEQ);
    if (seq === seen) {
      const t0 = performance.now();
      let spins = 0;
      while ((seq = Atomics.load(ctrl, base + SEQ)) === seen) {
        if ((++spins & 255) === 0 && performance.now() - t0 > ${SPIN_MS}) {
          Atomics.wait(ctrl, base + SEQ, seen);
        }
      }
    }
    seen = seq;
    // The part is ours only if the main thread has not taken it back.
    if (Atomics.compareExchange(ctrl, base + OFFER, seq, 0) === seq) {
      try {
        const count = Atomics.load(ctrl, ${CODE_COUNT});
        if (count !== synced) sync(count);
        runPart(ctrl[base + JOB], ctrl[base + PART]);
      } catch (e) {
        Atomics.store(ctrl, base + ERROR, 1);
      }
    }
    Atomics.store(ctrl, base + DONE, seq);
    Atomics.notify(ctrl, base + DONE);
  }
}
if (typeof require === "function") {
  require("node:worker_threads").parentPort.once("message", start);
} else {
  self.onmessage = (e) => start(e.data);
}
`;

/** What the pool needs from the main instance. */
export interface PoolHost {
  /** The worker variant of the kernels (wasm_binary.ts). */
  workerModule: () => WebAssembly.Module;
  memory: WebAssembly.Memory;
  alloc: (bytes: number) => number;
  /** The main instance's `run_part` (for parts no worker took up). */
  runPart: (job: number, part: number) => void;
  /** A module whose `run` sets the flag word of compiled code's caller. */
  fallbackModule: Uint8Array;
}

interface Thread {
  base: number;
  seq: number;
}

type Spawner = (source: string) => (msg: unknown) => void;

let host: PoolHost | undefined;
let wanted = defaultThreads();
const ctrl = typeof SharedArrayBuffer === "function"
  ? new Int32Array(new SharedArrayBuffer((MAX_THREADS + 1) * SLOT * 4))
  : new Int32Array(0);
const threads: Thread[] = [];
let ready = 0;
let started = false;
let broken: string | undefined;
const busy: Thread[] = [];
/** Jobs split so far (for tests and benchmarks). */
let splitJobs = 0;
let canBlock: boolean | undefined;

function defaultThreads(): number {
  const n =
    (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
      ?.hardwareConcurrency;
  return Math.max(1, Math.min(MAX_THREADS, Number.isInteger(n) ? n! : 1));
}

/** Called once by wasm_instance.ts when the memory is shared. */
export function attachPool(h: PoolHost): void {
  host = h;
}

/** Whether this engine runs the kernels on more than one thread. */
export function threadsAvailable(): boolean {
  return host !== undefined && broken === undefined && spawner() !== undefined;
}

function spawner(): Spawner | undefined {
  const proc = (globalThis as {
    process?: { getBuiltinModule?: (id: string) => unknown };
  }).process;
  if (typeof proc?.getBuiltinModule === "function") {
    const wt = proc.getBuiltinModule("node:worker_threads") as {
      Worker: new (src: string, o: { eval: boolean }) => {
        postMessage(m: unknown): void;
        unref(): void;
      };
    } | undefined;
    if (wt?.Worker) {
      return (source) => {
        const w = new wt.Worker(source, { eval: true });
        w.unref();
        return (m) => w.postMessage(m);
      };
    }
  }
  if (typeof Worker === "function" && typeof Blob === "function") {
    return (source) => {
      const url = URL.createObjectURL(
        new Blob([source], { type: "text/javascript" }),
      );
      const w = new Worker(url);
      URL.revokeObjectURL(url);
      return (m) => w.postMessage(m);
    };
  }
  return undefined;
}

/** Starts workers until there are `wanted - 1` of them. */
function grow(): void {
  const spawn = spawner();
  if (!host || !spawn) return;
  let module: WebAssembly.Module;
  try {
    module = host.workerModule();
  } catch (e) {
    broken = `the worker module did not compile: ${(e as Error).message}`;
    return;
  }
  while (threads.length < wanted - 1) {
    const index = threads.length;
    const base = index * SLOT;
    for (let f = 0; f < SLOT; f++) Atomics.store(ctrl, base + f, 0);
    const stack = host.alloc(STACK_BYTES) >>> 0;
    if (stack === 0) return;
    const post = spawn(WORKER_SOURCE);
    post({
      module,
      memory: host.memory,
      ctrl,
      base,
      stackTop: (stack + STACK_BYTES) & ~15,
      stub: host.fallbackModule,
    });
    threads.push({ base, seq: 0 });
  }
}

/** Workers 0..ready-1 are up; counts newly ready ones (in order). */
function poll(): void {
  while (ready < threads.length) {
    const s = Atomics.load(ctrl, threads[ready].base + STATE);
    if (s === READY) ready++;
    else {
      if (s === FAILED) broken = "a worker could not instantiate the kernels";
      return;
    }
  }
}

/** The imports `jacobi_threads.*` of the main instance. */
export const threadImports = {
  /** Threads a job may use now, the caller's included. */
  threads(): number {
    if (wanted <= 1 || !host || broken !== undefined) return 1;
    if (!started) {
      started = true;
      grow();
    }
    if (ready < Math.min(threads.length, wanted - 1)) poll();
    return 1 + Math.min(ready, wanted - 1);
  },
  /** Hands parts `1..parts` of the job at `job` to workers. */
  spawn(job: number, parts: number): void {
    splitJobs++;
    for (let p = 1; p < parts; p++) {
      const t = threads[p - 1];
      ctrl[t.base + JOB] = job;
      ctrl[t.base + PART] = p;
      t.seq = (t.seq + 1) & 0x3fffffff;
      if (t.seq === 0) t.seq = 1;
      Atomics.store(ctrl, t.base + OFFER, t.seq);
      Atomics.store(ctrl, t.base + SEQ, t.seq);
      Atomics.notify(ctrl, t.base + SEQ, 1);
      busy.push(t);
    }
  },
  /**
   * Waits for every part handed out by the last `spawn`. A part that no
   * worker has taken up yet (asleep, or not scheduled on a busy machine)
   * is taken back and run here, so a split job never waits for a worker
   * to wake: at worst it costs what it costs on one thread.
   */
  join(): void {
    let failed = false;
    for (const t of busy) {
      if (Atomics.compareExchange(ctrl, t.base + OFFER, t.seq, 0) !== t.seq) {
        continue;
      }
      t.seq = -t.seq; // done here: nothing to wait for below
      try {
        host!.runPart(ctrl[t.base + JOB], ctrl[t.base + PART]);
      } catch {
        failed = true;
      }
    }
    for (const t of busy) {
      if (t.seq < 0) {
        t.seq = -t.seq;
        continue;
      }
      const at = t.base + DONE;
      const t0 = performance.now();
      let spins = 0;
      for (
        let d = Atomics.load(ctrl, at);
        d !== t.seq;
        d = Atomics.load(ctrl, at)
      ) {
        if ((++spins & 255) !== 0 || performance.now() - t0 < SPIN_MS) continue;
        if (blockingAllowed()) Atomics.wait(ctrl, at, d, 20);
      }
      if (Atomics.load(ctrl, t.base + ERROR) !== 0) failed = true;
    }
    busy.length = 0;
    if (failed) {
      broken = "a worker failed while computing a split kernel";
      throw new Error(`jacobi: ${broken}`);
    }
  },
};

/**
 * Shares a function the main instance compiled (the module's `bytes`, at
 * table `index`) with the workers, which add it to their own tables before
 * their next part. Returns false when it cannot (the caller then keeps the
 * code off: a worker would call an index it lacks).
 */
export function shareCompiled(bytes: Uint8Array, index: number): boolean {
  if (!host) return true; // no workers: nothing to share
  const count = ctrl[CODE_COUNT];
  if (count >= MAX_SHARED_CODE) return false;
  if (count === 0 && ctrl[CODE_LIST] === 0) {
    const list = host.alloc(MAX_SHARED_CODE * 12) >>> 0;
    if (list === 0) return false;
    ctrl[CODE_LIST] = list;
  }
  const at = host.alloc(bytes.length) >>> 0;
  if (at === 0) return false;
  new Uint8Array(host.memory.buffer, at, bytes.length).set(bytes);
  const entry = (ctrl[CODE_LIST] >>> 0) + 12 * count;
  new Uint32Array(host.memory.buffer, entry, 3).set([at, bytes.length, index]);
  Atomics.store(ctrl, CODE_COUNT, count + 1);
  return true;
}

/** Atomics.wait throws on a browser's main thread: spin there instead. */
function blockingAllowed(): boolean {
  if (canBlock === undefined) {
    try {
      Atomics.wait(ctrl, 0, -1, 0);
      canBlock = true;
    } catch {
      canBlock = false;
    }
  }
  return canBlock;
}

/**
 * @internal The pool's state, for tests and benchmarks: workers started and
 * ready, how many jobs were split across threads so far, and how many
 * compiled functions were shared with the workers.
 */
export function poolStats(): {
  workers: number;
  ready: number;
  splitJobs: number;
  sharedCode: number;
} {
  if (ready < threads.length) poll();
  const sharedCode = ctrl.length > 0 ? Atomics.load(ctrl, CODE_COUNT) : 0;
  return { workers: threads.length, ready, splitJobs, sharedCode };
}

/** Sets the thread count (threads.ts's setNumThreads checks `n`). */
export function setThreadCount(n: number): void {
  // Fewer threads leaves the extra workers parked (asleep in Atomics.wait,
  // costing nothing) for a later increase: stopping one that may still be
  // starting would race with a new worker on its slot.
  wanted = Math.min(n, MAX_THREADS);
  if (started && threads.length < wanted - 1) grow();
}

/** The thread count in effect (1 where there can be no workers). */
export function threadCount(): number {
  return threadsAvailable() ? wanted : 1;
}
