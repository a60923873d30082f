// Hand-drawn SVG charts: two kinds, a few hundred lines of no dependency
// instead of a chart library (see README.md). Each is an image with a title
// and a description; the numbers are also in the results table.
import { h, id, s } from "./dom";

const palette = ["#1f5fbf", "#b3261e", "#1b7f3b", "#7a3db8", "#a15c00", "#00767a"];
export const color = (i: number) => palette[i % palette.length];

const W = 640;
const font = { "font-size": 12, fill: "#1d1d1f" };

function frame(title: string, desc: string, height: number, ...children: SVGElement[]): HTMLElement {
  const tid = id("chart-title");
  const did = id("chart-desc");
  return h(
    "figure",
    { class: "chart" },
    s(
      "svg",
      { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-labelledby": `${tid} ${did}`, preserveAspectRatio: "xMidYMid meet" },
      s("title", { id: tid }, title),
      s("desc", { id: did }, desc),
      ...children,
    ),
    h("figcaption", null, title),
  );
}

/** ticks are about n round values covering [lo, hi]. */
function ticks(lo: number, hi: number, n = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= n) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step / 1e6; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

function range(values: number[]): [number, number] {
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) [lo, hi] = [-0.01, 0.01];
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

/** fmtPct formats a fraction as a signed percentage for axes and chart descriptions. */
export const fmtPct = (v: number) => `${v > 0 ? "+" : ""}${(v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0)}%`;

export interface LiftRow {
  label: string;
  value: number;
  lower: number;
  upper: number;
}

/** liftChart draws each variation's lift as a dot with its interval as a bar. */
export function liftChart(title: string, rows: LiftRow[]): HTMLElement {
  const left = 150;
  const right = 20;
  const rowH = 34;
  const top = 10;
  const height = top + rows.length * rowH + 34;
  const [lo, hi] = range(rows.flatMap((r) => [r.lower, r.upper, r.value]));
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * (W - left - right);
  const axisY = top + rows.length * rowH;
  const parts: SVGElement[] = [];
  for (const t of ticks(lo, hi)) {
    parts.push(s("line", { x1: x(t), x2: x(t), y1: top, y2: axisY, stroke: "#d0d4da" }));
    parts.push(s("text", { x: x(t), y: axisY + 16, "text-anchor": "middle", ...font }, fmtPct(t)));
  }
  parts.push(s("line", { x1: x(0), x2: x(0), y1: top, y2: axisY, stroke: "#1d1d1f", "stroke-width": 1.5 }));
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const c = color(i + 1);
    parts.push(s("text", { x: left - 10, y: y + 4, "text-anchor": "end", ...font }, r.label));
    parts.push(s("line", { x1: x(r.lower), x2: x(r.upper), y1: y, y2: y, stroke: c, "stroke-width": 6, "stroke-linecap": "round", opacity: 0.45 }));
    parts.push(s("circle", { cx: x(r.value), cy: y, r: 6, fill: c }));
  });
  parts.push(s("text", { x: (left + W - right) / 2, y: height - 2, "text-anchor": "middle", ...font }, "lift vs baseline, with its interval"));
  const desc = rows.map((r) => `${r.label}: ${fmtPct(r.value)} (${fmtPct(r.lower)} to ${fmtPct(r.upper)})`).join("; ");
  return frame(title, desc || "No variation to compare yet.", height, ...parts);
}

export interface Series {
  label: string;
  points: { day: Date; value: number; lower?: number; upper?: number }[];
}

/** timeChart draws one line per series over days, with its band when the
 * points have bounds; the axis is in percent. */
export function timeChart(title: string, series: Series[], yLabel: string): HTMLElement {
  const left = 72;
  const right = 20;
  const top = 12;
  const height = 260;
  const bottom = height - 44;
  const all = series.flatMap((se) => se.points);
  const days = all.map((p) => p.day.getTime());
  const t0 = Math.min(...days);
  const t1 = Math.max(...days);
  const [lo, hi] = range(all.flatMap((p) => [p.value, p.lower ?? p.value, p.upper ?? p.value]));
  const x = (t: number) => left + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - left - right);
  const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  const parts: SVGElement[] = [];
  for (const t of ticks(lo, hi)) {
    parts.push(s("line", { x1: left, x2: W - right, y1: y(t), y2: y(t), stroke: "#d0d4da" }));
    parts.push(s("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end", ...font }, fmtPct(t)));
  }
  parts.push(s("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), stroke: "#1d1d1f", "stroke-width": 1.5 }));
  const dayLabels = [...new Set(days)].sort((a, b) => a - b);
  const every = Math.max(1, Math.ceil(dayLabels.length / 6));
  dayLabels.forEach((d, i) => {
    if (i % every === 0) parts.push(s("text", { x: x(d), y: bottom + 16, "text-anchor": "middle", ...font }, new Date(d).toISOString().slice(5, 10)));
  });
  series.forEach((se, i) => {
    const c = color(i + 1);
    const pts = [...se.points].sort((a, b) => a.day.getTime() - b.day.getTime());
    const banded = pts.filter((p) => p.lower !== undefined && p.upper !== undefined);
    if (banded.length > 0) {
      const upper = banded.map((p) => `${x(p.day.getTime())},${y(p.upper!)}`);
      const lower = banded.map((p) => `${x(p.day.getTime())},${y(p.lower!)}`).reverse();
      parts.push(s("polygon", { points: [...upper, ...lower].join(" "), fill: c, opacity: 0.15 }));
      // Whiskers keep the interval visible where the band has no width (a single day).
      for (const p of banded) {
        const px = x(p.day.getTime());
        parts.push(s("line", { x1: px, x2: px, y1: y(p.lower!), y2: y(p.upper!), stroke: c, "stroke-width": 2, opacity: 0.45 }));
      }
    }
    parts.push(s("polyline", { points: pts.map((p) => `${x(p.day.getTime())},${y(p.value)}`).join(" "), fill: "none", stroke: c, "stroke-width": 2 }));
    for (const p of pts) parts.push(s("circle", { cx: x(p.day.getTime()), cy: y(p.value), r: 3, fill: c }));
  });
  parts.push(s("text", { x: 12, y: (top + bottom) / 2, transform: `rotate(-90 12 ${(top + bottom) / 2})`, "text-anchor": "middle", ...font }, yLabel));
  const legendY = height - 8;
  let lx = left;
  series.forEach((se, i) => {
    parts.push(s("rect", { x: lx, y: legendY - 10, width: 12, height: 12, fill: color(i + 1) }));
    parts.push(s("text", { x: lx + 16, y: legendY, ...font }, se.label));
    lx += 30 + se.label.length * 7;
  });
  const desc = series
    .map((se) => {
      const last = se.points[se.points.length - 1];
      const n = se.points.length;
      return last ? `${se.label}: ${n} day${n === 1 ? "" : "s"}, latest ${fmtPct(last.value)}${last.lower !== undefined ? ` (${fmtPct(last.lower)} to ${fmtPct(last.upper!)})` : ""}` : `${se.label}: no data`;
    })
    .join("; ");
  return frame(title, desc, height, ...parts);
}
