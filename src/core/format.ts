/**
 * Printing that reads like PyTorch: `tensor([[1.0000, 2.5000], ...])`,
 * a shared number format chosen from the values, and elision of large
 * tensors (first and last 3 entries per dim when there are over 1000).
 * @module
 */
import type { Tensor } from "./tensor.ts";

const EDGE = 3;
const THRESHOLD = 1000;
const LINE_WIDTH = 80;

function chooseFormat(
  values: ArrayLike<number>,
  isInt: boolean,
): (v: number) => string {
  if (isInt) return (v) => String(v);
  let maxAbs = 0, minAbs = Infinity, allInt = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a !== 0 && a < minAbs) minAbs = a;
    if (!Number.isInteger(v)) allInt = false;
  }
  const special = (
    v: number,
  ) => (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
  if (allInt && maxAbs < 1e8) {
    return (v) => (Number.isFinite(v) ? `${v}.` : special(v));
  }
  const sci = maxAbs >= 1e8 ||
    (minAbs !== Infinity && (minAbs < 1e-4 || maxAbs / minAbs > 1000));
  if (sci) {
    return (
      v,
    ) => (Number.isFinite(v)
      ? v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2")
      : special(v));
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

/** Indices shown along a dim of size n (with -1 for the "..." gap). */
function shown(n: number, elide: boolean): number[] {
  if (!elide || n <= 2 * EDGE) return Array.from({ length: n }, (_, i) => i);
  return [0, 1, 2, -1, n - 3, n - 2, n - 1];
}

/** The body `[[...], ...]` of a concrete tensor, without the `tensor(` prefix. */
export function formatValues(t: Tensor, indent: number): string {
  const data = t.data();
  const elide = t.size > THRESHOLD;
  const fmt = t.dtype === "bool"
    ? (v: number) => (v !== 0 ? "true" : "false")
    : chooseFormat(data, t.dtype === "int32");
  const shape = t.shape;
  const strides = shape.map((_, i) =>
    shape.slice(i + 1).reduce((a, b) => a * b, 1)
  );
  let width = 0;
  const cells = new Map<number, string>();
  const collect = (dim: number, off: number) => {
    if (dim === shape.length) {
      const s = fmt(data[off]);
      cells.set(off, s);
      width = Math.max(width, s.length);
      return;
    }
    for (const i of shown(shape[dim], elide)) {
      if (i >= 0) collect(dim + 1, off + i * strides[dim]);
    }
  };
  collect(0, 0);
  const pad = (s: string) => s.padStart(width);
  const render = (dim: number, off: number, col: number): string => {
    if (dim === shape.length) return pad(cells.get(off)!);
    const idx = shown(shape[dim], elide);
    if (dim === shape.length - 1) {
      const items = idx.map((
        i,
      ) => (i < 0 ? "..." : pad(cells.get(off + i * strides[dim])!)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - col) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) {
        lines.push(items.slice(i, i + perLine).join(", "));
      }
      return `[${lines.join(",\n" + " ".repeat(col + 1))}]`;
    }
    const sep = ",\n" + "\n".repeat(shape.length - dim - 2) +
      " ".repeat(col + 1);
    const parts = idx.map((
      i,
    ) => (i < 0 ? "..." : render(dim + 1, off + i * strides[dim], col + 1)));
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, indent);
}

/** `tensor([...])`, plus the dtype when it is not float32. */
export function formatTensor(t: Tensor): string {
  const suffix = t.dtype === "float32" ? "" : `, dtype=${t.dtype}`;
  if (t._trace !== null && t._trace.main.name === "requiresGrad") {
    // An eager-tape tensor: its values, plus how it was made (as PyTorch's grad_fn).
    const node = (t as unknown as { node: { prim: string } | null }).node;
    const inner = formatTensor(t._concrete("print"));
    return `${inner.slice(0, -1)}, ${
      node === null ? "requiresGrad=true" : `gradFn=${node.prim}`
    })`;
  }
  if (t._trace !== null) {
    return `Tracer(shape=[${t.shape}], dtype=${t.dtype}, transform=${t._trace.main.name}, level=${t._trace.main.level})`;
  }
  if (t._storage!.disposed) {
    return `tensor(<disposed>, shape=[${t.shape}]${suffix})`;
  }
  const body = t.size === 0 ? "[]" : formatValues(t, "tensor(".length);
  const shapeNote = t.size === 0 && t.ndim > 1 ? `, size=[${t.shape}]` : "";
  return `tensor(${body}${shapeNote}${suffix})`;
}
