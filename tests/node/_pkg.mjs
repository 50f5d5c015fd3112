// Shared by the node tests: packs npm/ (built by `deno task npm`) and installs
// the tarball into a fresh temporary folder, as a user would.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const npmDir = join(root, "npm");
export const tscBin = join(root, "scripts/npm/node_modules/typescript/bin/tsc");

/** Runs a command, returning stdout; throws with its output on failure. */
export function sh(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    throw new Error(
      `${cmd} ${
        args.join(" ")
      } failed (exit ${e.status}):\n${e.stdout}${e.stderr}`,
    );
  }
}

/**
 * Packs npm/ and installs the tarball into a new temporary project.
 * Returns { dir, pkgName, tarball, cleanup }.
 */
export function installPacked(prefix) {
  if (!existsSync(join(npmDir, "package.json"))) {
    throw new Error("npm/ is not built: run `deno task npm` first");
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const [packed] = JSON.parse(
    sh("npm", ["pack", npmDir, "--json", "--pack-destination", dir], root),
  );
  const tarball = join(dir, packed.filename);
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  sh("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    tarball,
  ], dir);
  return {
    dir,
    pkgName: packed.name,
    tarball,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Imports the installed package by its name, resolved from `dir` (through
 * its `exports`), by way of a one-line entry module written there.
 */
export async function importInstalled(dir, pkgName) {
  const entry = join(dir, "entry.mjs");
  writeFileSync(
    entry,
    `export * from ${JSON.stringify(pkgName)};\n` +
      `export const resolved = import.meta.resolve(${
        JSON.stringify(pkgName)
      });\n`,
  );
  return await import(pathToFileURL(entry).href);
}

/** Max |a - b| over two equal-length number arrays. */
export function maxErr(a, b) {
  if (a.length !== b.length) {
    throw new Error(`length ${a.length} != ${b.length}`);
  }
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
