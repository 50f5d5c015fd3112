// Installs what the peers need, only when it is missing: PyTorch from Debian
// (apt), JAX from PyPI into bench/peers/.venv, jax-js and TensorFlow.js from
// npm into bench/peers/node_modules. Each step is timed; a failed step turns
// its peer's column into "n/a" with the reason instead of stopping the run.

import { VENV_PYTHON } from "./peers.ts";

export interface Step {
  name: "torch" | "jax" | "npm";
  status: "present" | "installed" | "failed";
  seconds: number;
  detail?: string;
}

interface Out {
  ok: boolean;
  text: string;
}

async function sh(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<Out> {
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      env,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    return { ok: out.success, text };
  } catch (e) {
    return { ok: false, text: `cannot run ${cmd[0]}: ${(e as Error).message}` };
  }
}

const lastLines = (text: string) =>
  text.trim().split("\n").slice(-3).join(" | ").slice(0, 400);

async function step(
  name: Step["name"],
  present: () => Promise<Out>,
  install: () => Promise<Out>,
): Promise<Step> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if ((await present()).ok) {
    return { name, status: "present", seconds: seconds() };
  }
  const out = await install();
  const after = out.ok ? await present() : out;
  if (after.ok) return { name, status: "installed", seconds: seconds() };
  return {
    name,
    status: "failed",
    seconds: seconds(),
    // The install's own error, or why the check still fails after it.
    detail: out.ok
      ? `still missing after the install: ${lastLines(after.text)}`
      : lastLines(out.text),
  };
}

/** Every check in turn; the first failure is the answer. */
async function all(...checks: (() => Promise<Out>)[]): Promise<Out> {
  for (const check of checks) {
    const out = await check();
    if (!out.ok) return out;
  }
  return { ok: true, text: "" };
}

/** PyTorch (with functorch) and OpenBLAS from Debian, for /usr/bin/python3. */
export function ensureTorch(): Promise<Step> {
  const pkgs = ["python3-torch", "libopenblas0-pthread"];
  return step(
    "torch",
    () =>
      all(
        () => sh(["/usr/bin/python3", "-c", "import torch"]),
        () => sh(["dpkg", "-s", "libopenblas0-pthread"]),
      ),
    async () => {
      // apt needs root; use sudo -n where we are not and it is there.
      const root = Deno.uid() === 0;
      const pre = root ? [] : ["sudo", "-n"];
      const env = { DEBIAN_FRONTEND: "noninteractive" };
      const update = await sh([...pre, "apt-get", "update", "-qq"], env);
      if (!update.ok) return update;
      return sh([
        ...pre,
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        ...pkgs,
      ], env);
    },
  );
}

/** JAX (CPU) from PyPI into a venv of Debian's python. */
export function ensureJax(): Promise<Step> {
  return step(
    "jax",
    () => sh([VENV_PYTHON, "-c", "import jax"]),
    async () => {
      const venv = VENV_PYTHON.replace(/\/bin\/python$/, "");
      let made = await sh(["/usr/bin/python3", "-m", "venv", venv]);
      if (!made.ok) made = await sh(["python3", "-m", "venv", venv]);
      if (!made.ok) return made;
      return sh([VENV_PYTHON, "-m", "pip", "install", "--quiet", "jax"]);
    },
  );
}

/** jax-js and TensorFlow.js from npm (bench/peers/package.json). */
export function ensureNpm(): Promise<Step> {
  const dir = "bench/peers";
  return step(
    "npm",
    async () => {
      const pkg = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
      for (const name of Object.keys(pkg.dependencies)) {
        try {
          await Deno.stat(`${dir}/node_modules/${name}/package.json`);
        } catch {
          return { ok: false, text: `no ${dir}/node_modules/${name}` };
        }
      }
      return { ok: true, text: "" };
    },
    () => sh(["npm", "install", "--prefix", dir, "--no-audit", "--no-fund"]),
  );
}
