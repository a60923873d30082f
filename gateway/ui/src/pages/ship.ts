import { enc, post } from "../api";
import { h, id, replace } from "../dom";
import type { Experiment } from "../types";
import { errorBox } from "../ui";

/** shipForm ships the winner (POST /v1/experiments/{id}:ship): the chosen
 * variation becomes the flag's delivery in one environment and the
 * experiment is concluded. Offered for a running or paused experiment that
 * decides a flag. */
export function shipForm(x: Experiment, done: () => void): HTMLElement | null {
  if (!x.flagId || !(x.status === "EXPERIMENT_STATUS_RUNNING" || x.status === "EXPERIMENT_STATUS_PAUSED")) return null;
  const vid = id("ship-variation");
  const eid = id("ship-env");
  const pid = id("ship-pct");
  const variation = h("select", { id: vid }, (x.variations ?? []).filter((v) => !v.baseline).concat((x.variations ?? []).filter((v) => v.baseline)).map((v) => h("option", { value: v.key }, v.name || v.key)));
  const env = h("select", { id: eid }, (x.environmentKeys ?? []).map((k) => h("option", { value: k }, k)));
  const percent = h("input", { id: pid, type: "number", min: 0, max: 100, step: "0.01", value: "100" });
  const out = h("div");
  return h(
    "form",
    {
      class: "card ship",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out);
        try {
          await post(`/v1/experiments/${enc(x.id)}:ship`, {
            environmentKey: env.value,
            variationKey: variation.value,
            percentage: Math.round(Number(percent.value) * 100),
            etag: x.etag,
          });
          done();
        } catch (e) {
          replace(out, errorBox(e));
        }
      },
    },
    h("h2", null, "Ship the winner"),
    h("p", { class: "help" }, "Deliver one variation through the flag and conclude the experiment."),
    h("div", null, h("label", { for: vid }, "Variation"), variation),
    h("div", null, h("label", { for: eid }, "Environment"), env),
    h("div", null, h("label", { for: pid }, "Users served (%)"), percent),
    h("button", { type: "submit" }, "Ship and conclude"),
    out,
  );
}
