import { enc, get } from "../api";
import { h, replace } from "../dom";
import type { Ctx } from "../main";
import type { Experiment, Lift, MetricResults, Results, VariationResult } from "../types";
import { liftChart, timeChart, type Series } from "../charts";
import { empty, heading, link, loading, num, pct, signedPct, statusLabel } from "../ui";

const bayesian = "STATS_METHOD_BAYESIAN";

/** resultsPage reads GET /v1/experiments/{id}/results and shows it the way
 * the project's statistics method judges: significance for sequential and
 * frequentist, chance to beat baseline for Bayesian. */
export async function resultsPage(ctx: Ctx): Promise<void> {
  const xid = ctx.params.experimentId;
  replace(ctx.main, heading("Results"), loading("results"));
  // ?cuped=1 asks the API for CUPED variance reduction (it reads every
  // exposed visitor, so it is opt-in, as in the API).
  const cuped = new URLSearchParams(location.search).get("cuped") === "1";
  const [{ experiment: x }, { results: r }] = await Promise.all([
    get<{ experiment: Experiment & { projectId: string } }>(`/v1/experiments/${enc(xid)}`),
    get<{ results: Results }>(`/v1/experiments/${enc(xid)}/results${cuped ? "?varianceReduction=true" : ""}`),
  ]);
  const cupedBox = h("input", { type: "checkbox", id: "cuped", checked: cuped, onchange: () => ctx.navigate(`experiments/${xid}/results${cupedBox.checked ? "?cuped=1" : ""}`) });
  ctx.setProject(x.projectId);
  const method = r.statsConfig?.statsMethod ?? "STATS_METHOD_SEQUENTIAL";
  const names = new Map((x.variations ?? []).map((v) => [v.key, v.name || v.key]));
  const total = Number(r.reach?.totalCount ?? 0);
  const srm = r.sampleRatioMismatch;
  replace(
    ctx.main,
    heading(`Results: ${x.name || x.key}`, link(`experiments/${x.id}`, "Experiment", { class: "button secondary" })),
    h(
      "p",
      { class: "meta" },
      h("span", { class: `status status-${statusLabel(x.status)}` }, statusLabel(x.status)),
      ` · ${method.replace("STATS_METHOD_", "").toLowerCase()} statistics`,
      r.statsConfig?.confidenceLevel ? ` at ${pct(r.statsConfig.confidenceLevel, 0)} confidence` : "",
      " · ",
      h("span", { "data-testid": "total-visitors" }, num(total)),
      " visitors",
      r.computeTime ? ` · computed ${new Date(r.computeTime).toLocaleString("en-US")}` : "",
    ),
    h("p", { class: "check" }, cupedBox, h("label", { for: "cuped" }, "Variance reduction (CUPED, from the visitors' pre-experiment behaviour)")),
    srm?.mismatch &&
      h(
        "div",
        { class: "warning", role: "alert", "data-testid": "srm" },
        h("strong", null, "Sample ratio mismatch. "),
        `The traffic split differs from the configured weights (p = ${(srm.pValue ?? 0).toPrecision(2)}): visitors may be assigned or counted unevenly, so these results may not be trustworthy.`,
      ),
    total === 0
      ? empty("No visitors yet. Results appear once SDKs send impressions and conversions for a running experiment.")
      : (r.metrics ?? []).map((m) => metricSection(m, method, names, cuped)),
  );
}

interface Columns {
  count: string;
  rate: string;
  count_: (v: VariationResult) => string;
  /** perVisitor formats a per-visitor mean (a rate, or an expected loss in its units). */
  perVisitor: (x: number | undefined) => string;
}

function valueColumns(m: MetricResults): Columns {
  if (m.aggregator === "AGGREGATOR_REVENUE" || m.aggregator === "AGGREGATOR_VALUE") {
    return {
      count: m.aggregator === "AGGREGATOR_REVENUE" ? "Revenue (cents)" : "Value",
      rate: "Per visitor",
      count_: (v) => (v.value ?? 0).toLocaleString("en-US", { maximumFractionDigits: 2 }),
      perVisitor: (x) => (x ?? 0).toLocaleString("en-US", { maximumFractionDigits: 4 }),
    };
  }
  return { count: "Conversions", rate: "Conversion rate", count_: (v) => num(v.converters), perVisitor: (x) => pct(x) };
}

const cupedWhy: Record<string, string> = {
  CUPED_STATUS_NO_PRE_PERIOD_DATA: "not applied: no visitor has events before the experiment",
  CUPED_STATUS_INSUFFICIENT_DATA: "not applied: too few visitors to estimate it",
};

function metricSection(m: MetricResults, method: string, names: Map<string, string>, cuped: boolean): HTMLElement {
  const applied = cuped && m.cupedStatus === "CUPED_STATUS_APPLIED";
  const cols = valueColumns(m);
  const isBayes = method === bayesian;
  const judged = isBayes ? "Chance to beat baseline" : "Significance";
  // Bayesian results carry a credible interval; the others a confidence
  // interval (always-valid for sequential).
  const interval = (l: Lift) => (isBayes ? (l.credibleInterval ?? l.confidenceInterval) : l.confidenceInterval) ?? {};
  const rows = m.results ?? [];
  const title = `Metric ${m.eventKey}${m.primary ? " (primary)" : ""}`;
  const table = h(
    "table",
    { class: "results", "data-metric": m.eventKey },
    h("caption", null, title),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Variation", "Visitors", cols.count, cols.rate, isBayes ? "Lift (credible interval)" : "Lift (confidence interval)", applied && "CUPED lift (interval)", applied && "Variance reduction", judged, isBayes && "Expected loss", "Visitors remaining"]
          .filter((c): c is string => !!c)
          .map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((v) => {
        const l = v.lift ?? {};
        const ci = interval(l);
        const cell = (col: string, text: string) => h("td", { "data-col": col }, text);
        return h(
          "tr",
          { "data-variation": v.variationKey },
          h("th", { scope: "row" }, names.get(v.variationKey) ?? v.variationKey, v.isBaseline ? h("span", { class: "badge" }, "baseline") : null),
          cell("samples", num(v.samples)),
          cell("count", cols.count_(v)),
          cell("rate", cols.perVisitor(v.rate)),
          v.isBaseline
            ? cell("lift", "—")
            : l.insufficientData || !l.relativeAvailable
              ? cell("lift", "not enough data")
              : cell("lift", `${signedPct(l.value)} (${signedPct(ci.lower)} to ${signedPct(ci.upper)})`),
          applied && (v.isBaseline || !l.cuped?.relativeAvailable ? cell("cuped", "—") : cell("cuped", `${signedPct(l.cuped.value)} (${signedPct(l.cuped.interval?.lower)} to ${signedPct(l.cuped.interval?.upper)})`)),
          applied && (v.isBaseline ? cell("reduction", "—") : cell("reduction", pct(l.cuped?.varianceReduction, 1))),
          v.isBaseline ? cell("judged", "—") : cell("judged", isBayes ? pct(l.chanceToBeatBaseline) : pct(l.significance)),
          isBayes && (v.isBaseline ? cell("loss", "—") : cell("loss", cols.perVisitor(l.expectedLoss))),
          v.isBaseline ? cell("remaining", "—") : cell("remaining", l.visitorsRemainingKnown ? num(l.visitorsRemaining) : "unknown"),
        );
      }),
    ),
  );
  const treatments = rows.filter((v) => !v.isBaseline && v.lift?.relativeAvailable && !v.lift.insufficientData);
  const charts: HTMLElement[] = [];
  if (treatments.length > 0) {
    charts.push(
      liftChart(
        `Lift of each variation on ${m.eventKey}`,
        treatments.map((v) => ({
          label: names.get(v.variationKey) ?? v.variationKey,
          value: v.lift!.value ?? 0,
          lower: interval(v.lift!).lower ?? 0,
          upper: interval(v.lift!).upper ?? 0,
        })),
      ),
    );
  }
  charts.push(overTime(m, rows, names));
  const notes = [
    cuped && !applied && h("p", { class: "meta", "data-testid": "cuped-status" }, `CUPED on ${m.eventKey}: ${cupedWhy[m.cupedStatus ?? ""] ?? "not applied"}.`),
    (m.cappedAt ?? 0) > 0 && h("p", { class: "meta" }, `Per-visitor totals capped at ${(m.cappedAt ?? 0).toLocaleString("en-US")}.`),
  ];
  return h("section", { class: "metric", "aria-label": title }, table, notes, h("div", { class: "charts" }, charts));
}

/** overTime is the cumulative lift by day with its interval as a band
 * (DailyPoint.lift: always-valid for sequential, credible for Bayesian,
 * confidence for frequentist). */
function overTime(m: MetricResults, rows: VariationResult[], names: Map<string, string>): HTMLElement {
  const series: Series[] = rows
    .filter((v) => !v.isBaseline)
    .map((v) => ({
      label: names.get(v.variationKey) ?? v.variationKey,
      points: (v.series ?? [])
        .filter((p) => p.lift?.relativeAvailable && !p.lift.insufficientData)
        .map((p) => ({ day: new Date(p.day), value: p.lift!.value ?? 0, lower: p.lift!.interval?.lower ?? 0, upper: p.lift!.interval?.upper ?? 0 })),
    }));
  if (series.every((se) => se.points.length === 0)) {
    return empty(`No day has enough data for the lift over time on ${m.eventKey} yet.`);
  }
  return timeChart(`Cumulative lift over time on ${m.eventKey}`, series, "cumulative lift");
}
