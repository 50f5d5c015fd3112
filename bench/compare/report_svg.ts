// Renders compare.svg by hand (no chart library to install): one bar group
// per workload variant, one bar per peer, time on a log axis, a legend. A
// wrong result is a faded bar marked ✗; an error or n/a is a grey dot on
// the axis.

import { timeMs } from "./peers.ts";
import { columnsOf, type Report, rows } from "./report.ts";
import { fmtMs } from "./report_md.ts";

const COLORS: Record<string, string> = {
  jacobi: "#d62728",
  "jacobi+jit": "#8c1d1d",
  pytorch: "#ee7733",
  jax: "#4477aa",
  "jax+jit": "#1f3a68",
  "jax-js": "#66ccee",
  "jax-js+jit": "#228833",
  "tfjs-wasm": "#aa3377",
};

const BAR = 9, GAP = 16, LEFT = 70, TOP = 50, PLOT_H = 360, BOTTOM = 120;

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function renderSvg(report: Report): string {
  const COLUMNS = columnsOf(report);
  const all = rows(report);
  const times = report.results.map(timeMs)
    .filter((t): t is number => t !== undefined && t > 0);
  const lo = Math.floor(Math.log10(Math.min(...times, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...times, 10)));
  const y = (ms: number) =>
    TOP + PLOT_H * (1 - (Math.log10(ms) - lo) / (hi - lo));
  const groupW = COLUMNS.length * BAR + GAP;
  const width = LEFT + all.length * groupW + 20;
  const height = TOP + PLOT_H + BOTTOM;
  const s: string[] = [];
  s.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">` +
      `Median CPU time per call (ms, log scale, lower is better)` +
      `${report.quick ? " — --quick smoke test" : ""}</text>`,
  );
  // Decade grid lines and labels.
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e).toFixed(1);
    s.push(
      `<line x1="${LEFT}" x2="${
        width - 20
      }" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${LEFT - 6}" y="${yy}" text-anchor="end" dy="4">${
        fmtMs(10 ** e)
      }</text>`,
    );
  }
  all.forEach((row, g) => {
    const x0 = LEFT + g * groupW + GAP / 2;
    COLUMNS.forEach((c, i) => {
      const r = row.cells.get(c);
      const x = x0 + i * BAR;
      const tip = `${c} ${row.workload} ${row.variant}: `;
      const ms = timeMs(r);
      if (r && ms !== undefined && ms > 0) {
        const top = y(ms);
        const wrong = r.status !== "ok";
        s.push(
          `<rect x="${x}" y="${top.toFixed(1)}" width="${BAR - 1}" height="${
            (TOP + PLOT_H - top).toFixed(1)
          }" fill="${COLORS[c]}"${wrong ? ' fill-opacity="0.3"' : ""}>` +
            `<title>${
              esc(tip + fmtMs(ms) + " ms" + (wrong ? " WRONG" : ""))
            }</title></rect>`,
        );
        if (wrong) {
          s.push(
            `<text x="${x + BAR / 2}" y="${
              top - 2
            }" text-anchor="middle" fill="#c00">✗</text>`,
          );
        }
      } else if (r) {
        s.push(
          `<circle cx="${x + BAR / 2}" cy="${
            TOP + PLOT_H - 3
          }" r="2" fill="#999">` +
            `<title>${esc(tip + (r.error ?? r.status))}</title></circle>`,
        );
      }
    });
    const lx = x0 + (COLUMNS.length * BAR) / 2;
    const ly = TOP + PLOT_H + 12;
    s.push(
      `<text x="${lx}" y="${ly}" text-anchor="end" transform="rotate(-40 ${lx} ${ly})">` +
        `${esc(`${row.workload} ${row.variant}`)}</text>`,
    );
  });
  s.push(
    `<line x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${
      TOP + PLOT_H
    }" stroke="#333"/>`,
    `<line x1="${LEFT}" x2="${width - 20}" y1="${TOP + PLOT_H}" y2="${
      TOP + PLOT_H
    }" stroke="#333"/>`,
  );
  // Legend along the top.
  COLUMNS.forEach((c, i) => {
    const x = LEFT + i * 110;
    s.push(
      `<rect x="${x}" y="28" width="10" height="10" fill="${COLORS[c]}"/>`,
      `<text x="${x + 14}" y="37">${esc(c)}</text>`,
    );
  });
  const lx = LEFT + COLUMNS.length * 110;
  s.push(
    `<text x="${lx}" y="37" fill="#555">faded ✗ = wrong result; ● on the axis = error or n/a</text>`,
    `</svg>`,
    "",
  );
  return s.join("\n");
}
