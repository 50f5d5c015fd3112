/**
 * Rewrites of the kernels' WebAssembly binary for threads, at load time.
 *
 * The module is built once, single-threaded: it defines its own memory.
 * With threads, the main instance and every worker must share one memory,
 * so {@link sharedMemoryVariant} turns the memory definition into an import
 * of a shared memory. A worker's instance must also neither re-run the data
 * segments (they would overwrite the statics the main instance has been
 * changing, the allocator's among them) nor share the main instance's stack,
 * so the worker variant drops the data section and imports the stack
 * pointer (global 0, as Rust's wasm32 target emits it) instead of defining
 * it. Index spaces are unchanged: imported memories and globals come first,
 * and both were index 0. Nothing else in the code changes, so both variants
 * run the same compiled kernels.
 * @module
 */

const SECTION = {
  import: 2,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  data: 11,
  dataCount: 12,
};
const KIND = { table: 1, memory: 2, global: 3 };

function readU32(b: Uint8Array, at: number): [number, number] {
  let v = 0, shift = 0, i = at;
  for (;;) {
    const byte = b[i++];
    v += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [v, i];
    shift += 7;
  }
}

/** Unsigned LEB128. */
export function u32(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/** A name: its UTF-8 length, then its bytes. */
export function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...u32(bytes.length), ...bytes];
}

/** One section of a module: its id and its contents. */
export interface Section {
  id: number;
  body: Uint8Array;
}

function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readU32(bytes, at + 1);
    out.push({ id, body: bytes.subarray(start, start + size) });
    at = start + size;
  }
  return out;
}

/** A module's bytes: `header` (magic and version), then each section. */
export function assemble(header: Uint8Array, list: Section[]): Uint8Array {
  const parts: number[][] = [];
  let total = header.length;
  for (const s of list) {
    const head = [s.id, ...u32(s.body.length)];
    parts.push(head);
    total += head.length + s.body.length;
  }
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  list.forEach((s, i) => {
    out.set(parts[i], at);
    at += parts[i].length;
    out.set(s.body, at);
    at += s.body.length;
  });
  return out;
}

/** Section `s` (a vector of entries) with `count` more `entries` at its end. */
function appended(s: Section, count: number, entries: number[]): Section {
  const [n, at] = readU32(s.body, 0);
  return {
    id: s.id,
    body: new Uint8Array([
      ...u32(n + count),
      ...s.body.subarray(at),
      ...entries,
    ]),
  };
}

/** Skips one constant expression (`i32.const n end` and the like). */
function skipConstExpr(b: Uint8Array, at: number): number {
  for (;;) {
    const op = b[at++];
    if (op === 0x0b) return at; // end
    if (op === 0x41 || op === 0x42 || op === 0x23) { // i32/i64.const, global.get
      while (b[at++] >= 0x80);
    } else {
      throw new Error(
        `wasm_binary: unexpected opcode ${op} in a global's initializer`,
      );
    }
  }
}

/** The minimum page count the module's own memory declares. */
export function memoryPages(bytes: Uint8Array): number {
  const mem = sections(bytes).find((s) => s.id === SECTION.memory);
  if (!mem) throw new Error("wasm_binary: the module defines no memory");
  const [count, at] = readU32(mem.body, 0);
  if (count !== 1) throw new Error(`wasm_binary: ${count} memories`);
  return readU32(mem.body, at + 1)[0];
}

/**
 * The module with its memory imported as `env.memory`, shared, of at most
 * `maxPages` pages; for a worker (`worker: true`), also without data
 * segments and with its stack pointer imported as `env.__stack_pointer`.
 */
export function sharedMemoryVariant(
  bytes: Uint8Array,
  options: { maxPages: number; worker: boolean },
): Uint8Array {
  const list = sections(bytes);
  const initial = memoryPages(bytes);
  const extra: number[] = [
    ...name("env"),
    ...name("memory"),
    KIND.memory,
    0x03, // limits: shared, with a maximum
    ...u32(initial),
    ...u32(options.maxPages),
  ];
  let imported = 1;
  if (options.worker) {
    extra.push(...name("env"), ...name("__stack_pointer"), KIND.global);
    extra.push(0x7f, 1); // i32, mutable
    imported++;
  }
  const out: Section[] = [];
  for (const s of list) {
    if (s.id === SECTION.memory) continue;
    if (options.worker && (s.id === SECTION.data || s.id === 0)) continue;
    if (options.worker && s.id === SECTION.dataCount) {
      out.push({ id: s.id, body: new Uint8Array(u32(0)) });
      continue;
    }
    if (options.worker && s.id === SECTION.global) {
      // Global 0 (the stack pointer) becomes the import added above.
      const [count, at] = readU32(s.body, 0);
      const [type, mut] = [s.body[at], s.body[at + 1]];
      if (type !== 0x7f || mut !== 1) {
        throw new Error("wasm_binary: global 0 is not the i32 stack pointer");
      }
      const rest = skipConstExpr(s.body, at + 2);
      out.push({
        id: s.id,
        body: new Uint8Array([...u32(count - 1), ...s.body.subarray(rest)]),
      });
      continue;
    }
    if (s.id === SECTION.import) {
      out.push(appended(s, imported, extra));
      continue;
    }
    out.push(s);
  }
  if (!list.some((s) => s.id === SECTION.import)) {
    throw new Error("wasm_binary: the module has no import section");
  }
  return assemble(bytes.subarray(0, 8), out);
}

/** The export name of the kernels' function table ({@link growableTable}). */
export const FUNCTION_TABLE = "__jacobi_functions";

/**
 * The module with its function table (table 0, which Rust's function
 * pointers index) exported as {@link FUNCTION_TABLE} and without a maximum
 * size, so that code compiled at run time (codegen.ts) can be added to it.
 */
export function growableTable(bytes: Uint8Array): Uint8Array {
  const list = sections(bytes);
  const out: Section[] = [];
  for (const s of list) {
    if (s.id === SECTION.table) {
      const [count, at] = readU32(s.body, 0);
      if (count < 1 || s.body[at] !== 0x70) {
        throw new Error("wasm_binary: table 0 is not a function table");
      }
      const flags = s.body[at + 1];
      if (flags !== 0x00 && flags !== 0x01) {
        throw new Error(`wasm_binary: table limits flags ${flags}`);
      }
      const [min, afterMin] = readU32(s.body, at + 2);
      const rest = flags === 0x01 ? readU32(s.body, afterMin)[1] : afterMin;
      out.push({
        id: s.id,
        body: new Uint8Array([
          ...u32(count),
          0x70,
          0x00, // limits: a minimum only
          ...u32(min),
          ...s.body.subarray(rest),
        ]),
      });
      continue;
    }
    if (s.id === SECTION.export) {
      out.push(appended(s, 1, [...name(FUNCTION_TABLE), KIND.table, 0]));
      continue;
    }
    out.push(s);
  }
  if (!list.some((s) => s.id === SECTION.table)) {
    throw new Error("wasm_binary: the module has no function table");
  }
  return assemble(bytes.subarray(0, 8), out);
}

/** The initial value of the module's stack pointer (global 0). */
export function stackPointer(bytes: Uint8Array): number {
  const g = sections(bytes).find((s) => s.id === SECTION.global);
  if (!g) throw new Error("wasm_binary: the module has no globals");
  const at = readU32(g.body, 0)[1];
  if (g.body[at + 2] !== 0x41) {
    throw new Error("wasm_binary: global 0 is not an i32 constant");
  }
  // sleb128; the stack pointer is a positive address.
  let v = 0, shift = 0, i = at + 3;
  for (;;) {
    const byte = g.body[i++];
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) {
      if (byte & 0x40) v -= 2 ** shift;
      return v;
    }
  }
}
