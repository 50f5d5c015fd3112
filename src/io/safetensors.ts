/**
 * Saving and loading tensors in the safetensors format: an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data. Nested trees are
 * flattened to dotted names (`{ layer: { w } }` is `"layer.w"`, arrays use
 * their indices), as PyTorch's `state_dict` names parameters.
 * @module
 */
import type { DType } from "../backend/dtype.ts";
import { Tensor } from "../core/tensor.ts";
import { fmtShape, sizeOf } from "../core/shape.ts";
import { tensor } from "../ops/creation.ts";
import { describe } from "../ops/scalar.ts";

/**
 * What `save` accepts and `load` returns: a tensor at every leaf of nested
 * plain objects and arrays.
 *
 * @example
 * ```ts
 * import { load, save, type TensorTree, tensor, zeros } from "./mod.ts";
 * const params: TensorTree = { layers: [{ w: zeros([2, 2]), b: tensor([0, 1]) }] };
 * const again = load(save(params)); // { layers: [{ b, w }] }
 * ```
 */
export type TensorTree =
  | Tensor
  | readonly TensorTree[]
  | { readonly [key: string]: TensorTree };

/**
 * Options of `save`.
 *
 * @example
 * ```ts
 * import { save, tensor } from "./mod.ts";
 * const bytes = save({ w: tensor([1, 2]) }, { metadata: { format: "pt", step: "100" } });
 * ```
 */
export interface SaveOptions {
  /** Free-form string pairs stored in the header under `__metadata__`. */
  metadata?: Record<string, string>;
}

/**
 * One tensor's entry in a safetensors header.
 *
 * @example
 * ```ts
 * import { readHeader, save, tensor } from "./mod.ts";
 * const info = readHeader(save({ w: tensor([1, 2]) })).tensors.w; // { dtype: "F32", shape: [2], ... }
 * ```
 */
export interface TensorInfo {
  /** The file's dtype name (`F32`, `F64`, `I32`, `BF16`, ...). */
  dtype: string;
  /** Size of each dimension. */
  shape: number[];
  /** Begin and end of the data, in bytes after the header. */
  dataOffsets: [number, number];
}

/**
 * A parsed safetensors header: each tensor's entry by its dotted name, and
 * the metadata.
 *
 * @example
 * ```ts
 * import { readHeader, save, tensor } from "./mod.ts";
 * const h = readHeader(save({ w: tensor([1, 2]) }, { metadata: { note: "hi" } }));
 * console.log(Object.keys(h.tensors), h.metadata); // [ "w" ] { note: "hi" }
 * ```
 */
export interface SafetensorsHeader {
  /** Entries by name, in the order of their data. */
  tensors: Record<string, TensorInfo>;
  /** The `__metadata__` string pairs (empty when absent). */
  metadata: Record<string, string>;
  /** Bytes before the data: 8 plus the JSON header's length. */
  dataStart: number;
}

/** jacobi's dtypes as the format names them. */
const SAVE_NAME: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
  bool: "BOOL",
};

/** The order `save` writes dtypes in. */
const SAVE_ORDER: Record<DType, number> = {
  float64: 0,
  float32: 1,
  int32: 2,
  bool: 3,
};

/**
 * How each dtype of the format loads: the jacobi dtype that holds every
 * value exactly, its element size in the file, and how to read one element.
 * 64-bit and unsigned 32-bit integers load as int32 only when every value
 * fits (checked); the 8-bit float formats have no loader.
 */
interface Reader {
  dtype: DType;
  bytes: number;
  read: (v: DataView, off: number) => number;
}
const READERS: Record<string, Reader> = {
  F64: { dtype: "float64", bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  F32: { dtype: "float32", bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  F16: {
    dtype: "float32",
    bytes: 2,
    read: (v, o) => half(v.getUint16(o, true)),
  },
  BF16: {
    dtype: "float32",
    bytes: 2,
    // bfloat16 is the top half of a float32.
    read: (v, o) => {
      const f = new DataView(new ArrayBuffer(4));
      f.setUint32(0, v.getUint16(o, true) << 16);
      return f.getFloat32(0);
    },
  },
  I32: { dtype: "int32", bytes: 4, read: (v, o) => v.getInt32(o, true) },
  U32: { dtype: "int32", bytes: 4, read: (v, o) => v.getUint32(o, true) },
  I64: {
    dtype: "int32",
    bytes: 8,
    read: (v, o) => Number(v.getBigInt64(o, true)),
  },
  U64: {
    dtype: "int32",
    bytes: 8,
    read: (v, o) => Number(v.getBigUint64(o, true)),
  },
  I16: { dtype: "int32", bytes: 2, read: (v, o) => v.getInt16(o, true) },
  U16: { dtype: "int32", bytes: 2, read: (v, o) => v.getUint16(o, true) },
  I8: { dtype: "int32", bytes: 1, read: (v, o) => v.getInt8(o) },
  U8: { dtype: "int32", bytes: 1, read: (v, o) => v.getUint8(o) },
  BOOL: { dtype: "bool", bytes: 1, read: (v, o) => (v.getUint8(o) ? 1 : 0) },
};

/** IEEE half precision bits to a number (exact). */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The reference implementation refuses headers over 100 MB. */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** The leaves of `tree` by dotted name, checking every key and leaf. */
function flattenNamed(tree: unknown): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const walk = (x: unknown, path: string[]): void => {
    const where = path.length === 0 ? "the tree" : `"${path.join(".")}"`;
    if (x instanceof Tensor) {
      if (path.length === 0) {
        throw new TypeError(
          "save: expected an object of tensors (safetensors names every tensor), got a single tensor; save({ name: t }) instead",
        );
      }
      out.push([path.join("."), x]);
      return;
    }
    const entries: [string, unknown][] = Array.isArray(x)
      ? x.map((v, i) => [String(i), v])
      : isPlainObject(x)
      ? Object.entries(x)
      : (() => {
        throw new TypeError(
          `save: ${where} is ${describe(x)}; every leaf must be a Tensor`,
        );
      })();
    if (entries.length === 0 && path.length > 0) {
      throw new TypeError(
        `save: ${where} is an empty ${
          Array.isArray(x) ? "array" : "object"
        }; safetensors stores only tensors, so it would not load back`,
      );
    }
    for (const [k, v] of entries) {
      if (k === "" || k.includes(".")) {
        throw new TypeError(
          `save: key ${
            JSON.stringify(k)
          } under ${where} is empty or contains "."; dots separate the levels of a name`,
        );
      }
      walk(v, [...path, k]);
    }
  };
  walk(tree, []);
  return out;
}

/** A tensor's elements as little-endian bytes. */
function bytesOf(name: string, t: Tensor): Uint8Array {
  let data: Float32Array | Float64Array | Int32Array;
  try {
    data = t.data();
  } catch (e) {
    throw new TypeError(
      `save: "${name}" has no concrete value (${
        (e as Error).message
      }); save outside of transforms`,
    );
  }
  // bool is one byte per element in the file (an int32 0/1 here).
  if (t.dtype === "bool") return Uint8Array.from(data);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const k = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i++) {
    swapped[i] = bytes[i - (i % k) + (k - 1 - (i % k))];
  }
  return swapped;
}

/**
 * Serialises a tree of tensors to safetensors bytes. Nested objects and
 * arrays become dotted names (`{ fc: [{ w }] }` is `"fc.0.w"`); float32,
 * float64, int32 and bool are stored as `F32`, `F64`, `I32` and `BOOL`. The header is
 * padded with spaces to a multiple of 8 bytes and the data is ordered as
 * the reference implementation orders it (float64 first, then float32,
 * then int32, then bool, each by name), so every tensor is aligned to its element size
 * and Python's `safetensors` writes the same bytes for the same tensors.
 *
 * @example
 * ```ts
 * import { load, save, tensor } from "./mod.ts";
 * const bytes = save({ fc: { w: tensor([[1, 2], [3, 4]]), b: tensor([0, 0]) } });
 * const { fc } = load(bytes) as { fc: { w: unknown; b: unknown } };
 * ```
 */
export function save(tree: TensorTree, options: SaveOptions = {}): Uint8Array {
  const named = flattenNamed(tree);
  const seen = new Set<string>();
  for (const [name] of named) {
    if (seen.has(name)) throw new TypeError(`save: "${name}" appears twice`);
    seen.add(name);
  }
  // F64, then F32, then I32, then BOOL, each by name: larger elements first keeps
  // every offset aligned, and it is the order the reference implementation
  // writes, so the same tensors give the same bytes.
  named.sort(([a, x], [b, y]) =>
    SAVE_ORDER[x.dtype] - SAVE_ORDER[y.dtype] || (a < b ? -1 : a > b ? 1 : 0)
  );
  const header: Record<string, unknown> = {};
  const { metadata } = options;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) {
      throw new TypeError(
        `save: options.metadata must be an object of strings, got ${
          describe(metadata)
        }`,
      );
    }
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(
          `save: options.metadata.${k} is ${
            describe(v)
          }; values must be strings`,
        );
      }
    }
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of named) {
    const bytes = bytesOf(name, t);
    header[name] = {
      dtype: SAVE_NAME[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Parses and checks the header of safetensors bytes without reading the
 * data: each tensor's dtype, shape and byte range, and the metadata.
 *
 * @example
 * ```ts
 * import { readHeader, save, tensor } from "./mod.ts";
 * const { tensors } = readHeader(save({ w: tensor([[1, 2]]) }));
 * console.log(tensors.w.dtype, tensors.w.shape); // F32 [ 1, 2 ]
 * ```
 */
export function readHeader(bytes: Uint8Array): SafetensorsHeader {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`load: expected a Uint8Array, got ${describe(bytes)}`);
  }
  const bad = (why: string): never => {
    throw new RangeError(`load: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) bad(`${bytes.length} bytes, fewer than 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER) bad(`the header length ${n} is over 100 MB`);
  if (8 + n > bytes.length) {
    bad(`the header length ${n} runs past the end (${bytes.length} bytes)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + n),
    ));
  } catch (e) {
    bad(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) bad("the header is not a JSON object");
  const raw = parsed as Record<string, unknown>;
  const dataLength = bytes.length - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: [string, TensorInfo][] = [];
  for (const [name, e] of Object.entries(raw)) {
    if (name === "__metadata__") {
      if (!isPlainObject(e)) bad("__metadata__ is not an object");
      for (const [k, v] of Object.entries(e as Record<string, unknown>)) {
        if (typeof v !== "string") bad(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (!isPlainObject(e)) bad(`"${name}" is not an object`);
    const { dtype, shape, data_offsets: offs } = e as Record<string, unknown>;
    if (typeof dtype !== "string") bad(`"${name}" has no dtype`);
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      bad(`"${name}" has shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offs[0] > offs[1] || offs[1] > dataLength
    ) {
      bad(
        `"${name}" has data_offsets ${
          JSON.stringify(offs)
        } (the data is ${dataLength} bytes)`,
      );
    }
    const reader = READERS[dtype as string];
    const [b, end] = offs as [number, number];
    if (reader !== undefined) {
      const want = sizeOf(shape as number[]) * reader.bytes;
      if (end - b !== want) {
        bad(
          `"${name}" (${dtype} ${
            fmtShape(shape as number[])
          }) needs ${want} bytes, its data_offsets span ${end - b}`,
        );
      }
    }
    entries.push([name, {
      dtype: dtype as string,
      shape: shape as number[],
      dataOffsets: [b, end],
    }]);
  }
  // The format allows no holes and no overlaps: the ranges, in order, tile
  // the data exactly.
  entries.sort(([, a], [, b]) =>
    a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]
  );
  let at = 0;
  for (const [name, e] of entries) {
    if (e.dataOffsets[0] !== at) {
      bad(
        `"${name}" starts at byte ${
          e.dataOffsets[0]
        } where ${at} was expected (a hole or an overlap)`,
      );
    }
    at = e.dataOffsets[1];
  }
  if (at !== dataLength) {
    bad(`the tensors cover ${at} of the ${dataLength} data bytes`);
  }
  return {
    tensors: Object.fromEntries(entries),
    metadata,
    dataStart: 8 + n,
  };
}

/** One entry's data as a tensor of the jacobi dtype that holds it exactly. */
function readTensor(
  bytes: Uint8Array,
  start: number,
  name: string,
  info: TensorInfo,
): Tensor {
  const reader = READERS[info.dtype];
  if (reader === undefined) {
    throw new TypeError(
      `load: "${name}" has dtype ${info.dtype}, which jacobi cannot hold (it loads ${
        Object.keys(READERS).join(", ")
      })`,
    );
  }
  const [b, e] = info.dataOffsets;
  const n = sizeOf(info.shape);
  const src = bytes.subarray(start + b, start + e);
  const ctor = reader.dtype === "float64"
    ? Float64Array
    : reader.dtype === "float32"
    ? Float32Array
    : Int32Array;
  let data: Float32Array | Float64Array | Int32Array;
  if (LITTLE_ENDIAN && reader.bytes === ctor.BYTES_PER_ELEMENT) {
    // Same layout: one copy (which also aligns the data). Not src.slice():
    // on a Node Buffer that is a view of the whole pool.
    data = new ctor(new Uint8Array(src).buffer);
  } else {
    data = new ctor(n);
    const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < n; i++) data[i] = reader.read(v, i * reader.bytes);
  }
  if (
    reader.dtype === "int32" &&
    (info.dtype === "U32" || info.dtype === "I64" || info.dtype === "U64")
  ) {
    // Check the wide integers fit: read again at full width and compare.
    const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < n; i++) {
      const x = reader.read(v, i * reader.bytes);
      if (x !== data[i]) {
        throw new RangeError(
          `load: "${name}" (${info.dtype}) holds ${
            info.dtype === "U32" ? x : String(
              info.dtype === "I64"
                ? v.getBigInt64(i * 8, true)
                : v.getBigUint64(i * 8, true),
            )
          } at flat index ${i}, outside int32's range`,
        );
      }
    }
  }
  return tensor(data, { dtype: reader.dtype }).reshape(info.shape);
}

/** Rebuilds nested objects from dotted names; levels keyed 0..n-1 become arrays. */
function unflattenNamed(entries: [string, Tensor][]): TensorTree {
  type Node = Map<string, Node | Tensor>;
  const root: Node = new Map();
  for (const [name, t] of entries) {
    const parts = name.split(".");
    let node = root;
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      const have = node.get(p);
      if (last) {
        if (have !== undefined) {
          throw new TypeError(
            `load: "${name}" is both a tensor and a prefix of another name`,
          );
        }
        node.set(p, t);
      } else if (have instanceof Tensor) {
        throw new TypeError(
          `load: "${
            parts.slice(0, i + 1).join(".")
          }" is both a tensor and a prefix of "${name}"`,
        );
      } else if (have === undefined) {
        const next: Node = new Map();
        node.set(p, next);
        node = next;
      } else {
        node = have;
      }
    });
  }
  const build = (node: Node): TensorTree => {
    const keys = [...node.keys()];
    const isArray = keys.every((k) => /^(0|[1-9]\d*)$/.test(k)) &&
      keys.every((_, i) => node.has(String(i)));
    const value = (k: string) => {
      const v = node.get(k)!;
      return v instanceof Tensor ? v : build(v);
    };
    if (isArray) return keys.map((_, i) => value(String(i)));
    const obj: Record<string, TensorTree> = {};
    for (const k of keys.sort()) obj[k] = value(k);
    return obj;
  };
  return build(root);
}

/**
 * Reads safetensors bytes into a tree of tensors: dotted names become
 * nested objects, and a level whose keys are exactly `0..n-1` becomes an
 * array (so `save`'s arrays come back as arrays). Dtypes map to the jacobi
 * dtype that holds every value exactly: `F32`, `F16`, `BF16` → float32;
 * `F64` → float64; `I32`, `I16`, `U16`, `I8`, `U8`, `BOOL` → int32 (`BOOL`
 * as 0/1); `U32`, `I64`, `U64` → int32 when every value fits (a
 * `RangeError` names the first that does not). Other dtypes (the 8-bit
 * floats) are a `TypeError` naming the tensor.
 *
 * @example
 * ```ts
 * import { load, save, type Tensor, tensor } from "./mod.ts";
 * const tree = load(save({ w: tensor([1, 2]), layers: [tensor(3)] }));
 * const { w, layers } = tree as { w: Tensor; layers: Tensor[] };
 * console.log(w.toArray(), layers[0].item()); // [ 1, 2 ] 3
 * ```
 */
export function load(bytes: Uint8Array): TensorTree {
  const h = readHeader(bytes);
  const named = Object.entries(h.tensors).map(([name, info]) =>
    [name, readTensor(bytes, h.dataStart, name, info)] as [string, Tensor]
  );
  if (named.length === 0) return {};
  return unflattenNamed(named);
}
