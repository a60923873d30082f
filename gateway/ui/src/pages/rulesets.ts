import { enc, get, patch } from "../api";
import { h, id, replace } from "../dom";
import type { Environment, Flag, FlagRuleset, RuleVariation } from "../types";
import { errorBox, pct } from "../ui";

/** rulesets is a flag's per-environment table (GET and PATCH
 * /v1/flags/{id}/environments/{key}/ruleset): the on/off toggle, the A/B
 * tests with their allowlists, the targeted deliveries and the
 * everyone-else rollout. Writers toggle the flag and set the rollout. */
export async function rulesets(flag: Flag, envs: Environment[], canWrite: boolean, reload: () => void): Promise<HTMLElement> {
  const sets = await Promise.all(
    envs.map((e) => get<{ ruleset: FlagRuleset }>(`/v1/flags/${enc(flag.id)}/environments/${enc(e.key)}/ruleset`).then((r) => r.ruleset)),
  );
  const label = (v?: RuleVariation) => (v ? `${v.key}${v.featureEnabled ? " (on)" : " (off)"}` : "off");
  return h(
    "table",
    { class: "rulesets" },
    h("caption", null, `${flag.key} by environment`),
    h("thead", null, h("tr", null, ["Environment", "Flag", "A/B tests", "Deliveries", "Everyone else"].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      null,
      envs.map((e, i) => {
        const rs = sets[i];
        const out = h("div");
        const onOff = rs.enabled ? "on" : "off";
        const toggle = canWrite
          ? h(
              "button",
              {
                type: "button",
                class: rs.enabled ? "toggle on" : "toggle",
                "aria-pressed": rs.enabled ? "true" : "false",
                onclick: async () => {
                  replace(out);
                  try {
                    await patch(`/v1/flags/${enc(flag.id)}/environments/${enc(e.key)}/ruleset?updateMask=enabled`, { enabled: !rs.enabled, etag: rs.etag });
                    reload();
                  } catch (err) {
                    replace(out, errorBox(err));
                  }
                },
              },
              // The name says what is switched; its visible part, the state.
              h("span", { class: "visually-hidden" }, `${flag.key} in ${e.name}: `),
              onOff,
            )
          : h("span", { class: `status status-${onOff === "on" ? "running" : "paused"}` }, onOff);
        return h(
          "tr",
          { "data-env": e.key },
          h("th", { scope: "row" }, e.name),
          h("td", null, toggle, out),
          h(
            "td",
            null,
            (rs.experimentRules ?? []).length === 0
              ? "none"
              : h(
                  "ul",
                  { class: "plain" },
                  (rs.experimentRules ?? []).map((r) =>
                    h("li", null, r.experimentKey, ` (${(r.status ?? "").replace("EXPERIMENT_STATUS_", "").toLowerCase()})`, Object.keys(r.allowlist ?? {}).length ? `, ${Object.keys(r.allowlist ?? {}).length} allowlisted` : ""),
                  ),
                ),
          ),
          h(
            "td",
            null,
            (rs.deliveries ?? []).length === 0
              ? "none"
              : h(
                  "ol",
                  null,
                  (rs.deliveries ?? []).map((d) =>
                    h("li", null, `${d.key}: ${pct((d.percentage ?? 0) / 10000, 0)} of ${(d.audienceIds ?? []).length ? `audiences ${(d.audienceIds ?? []).join(", ")}` : "everyone"} → ${label(d.variation)}`),
                  ),
                ),
          ),
          h("td", null, canWrite ? rolloutForm(flag, e, rs, reload) : `${pct((rs.everyoneElse?.percentage ?? 0) / 10000, 0)} → ${label(rs.everyoneElse?.variation)}`),
        );
      }),
    ),
  );
}

/** rolloutForm sets the everyone-else rule: a percentage of the remaining
 * users served the flag on (or off). */
function rolloutForm(flag: Flag, e: Environment, rs: FlagRuleset, reload: () => void): HTMLElement {
  const pid = id("rollout");
  const current = rs.everyoneElse;
  const on = current?.variation?.featureEnabled ?? false;
  const percent = h("input", { id: pid, type: "number", min: 0, max: 100, step: "0.01", value: String((current?.percentage ?? 0) / 100) });
  const sid = id("serve");
  const serve = h("select", { id: sid }, h("option", { value: "on", selected: on }, "on"), h("option", { value: "off", selected: !on }, "off"));
  const out = h("div");
  return h(
    "form",
    {
      class: "rollout",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        replace(out);
        const enabled = serve.value === "on";
        try {
          await patch(`/v1/flags/${enc(flag.id)}/environments/${enc(e.key)}/ruleset?updateMask=everyone_else`, {
            everyoneElse: { percentage: Math.round(Number(percent.value) * 100), variation: { key: enabled ? "on" : "off", featureEnabled: enabled } },
            etag: rs.etag,
          });
          reload();
        } catch (err) {
          replace(out, errorBox(err));
        }
      },
    },
    h("label", { for: pid }, `Rollout % in ${e.name}`),
    percent,
    h("label", { for: sid }, "serves"),
    serve,
    h("button", { type: "submit", class: "secondary small", "aria-label": `Save the rollout of ${flag.key} in ${e.name}` }, "Save"),
    out,
  );
}
