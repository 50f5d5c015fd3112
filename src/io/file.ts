/**
 * `saveFile` and `loadFile`: safetensors files on disk, in Deno and Node.
 * Each call needs only the permission it uses (Deno: `--allow-write` for
 * the file written, `--allow-read` for the file read); importing the module
 * needs none, and Node's `fs` is imported only when a call runs under Node.
 * @module
 */
import {
  load,
  save,
  type SaveOptions,
  type TensorTree,
} from "./safetensors.ts";

/**
 * A file path, or a `file:` URL (any object with an `href`, so that the
 * declarations need neither the DOM nor Node's types).
 *
 * @example
 * ```ts ignore
 * import { type FilePath, loadFile } from "./mod.ts";
 * const path: FilePath = new URL("./params.safetensors", import.meta.url);
 * const params = await loadFile(path);
 * ```
 */
export type FilePath = string | { readonly href: string };

/** The two file calls, as Deno and Node's `fs/promises` both spell them. */
interface Files {
  readFile(path: string | URL): Promise<Uint8Array>;
  writeFile(path: string | URL, data: Uint8Array): Promise<void>;
}

const toPath = (p: FilePath): string | URL =>
  typeof p === "string" ? p : new URL(p.href);

async function files(what: string): Promise<Files> {
  const g = globalThis as {
    Deno?: Files;
    process?: { versions?: { node?: string } };
  };
  if (g.Deno?.readFile !== undefined) return g.Deno;
  if (g.process?.versions?.node !== undefined) {
    // A variable specifier: bundlers for the browser leave it alone.
    const fsModule = "node:fs/promises";
    return await import(fsModule) as Files;
  }
  throw new Error(
    `${what}: no file system here (it needs Deno or Node); in a browser, use save()/load() on bytes`,
  );
}

/**
 * Writes a tree of tensors to a safetensors file (see `save`). In Deno it
 * needs `--allow-write` for that path only.
 *
 * @example
 * ```ts ignore
 * import { loadFile, saveFile, tensor } from "./mod.ts";
 * await saveFile("params.safetensors", { w: tensor([[1, 2], [3, 4]]), b: tensor([0, 1]) });
 * const params = await loadFile("params.safetensors");
 * ```
 */
export async function saveFile(
  path: FilePath,
  tree: TensorTree,
  options: SaveOptions = {},
): Promise<void> {
  const bytes = save(tree, options);
  await (await files("saveFile")).writeFile(toPath(path), bytes);
}

/**
 * Reads a safetensors file into a tree of tensors (see `load`). In Deno it
 * needs `--allow-read` for that path only.
 *
 * @example
 * ```ts ignore
 * import { loadFile, type Tensor } from "./mod.ts";
 * const { w } = await loadFile("params.safetensors") as { w: Tensor };
 * ```
 */
export async function loadFile(path: FilePath): Promise<TensorTree> {
  const bytes = await (await files("loadFile")).readFile(toPath(path));
  return load(bytes);
}
