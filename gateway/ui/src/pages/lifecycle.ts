import { enc, post } from "../api";
import { h, replace } from "../dom";
import type { Experiment } from "../types";
import { errorBox } from "../ui";

const actions: Record<string, { verb: string; label: string }[]> = {
  EXPERIMENT_STATUS_DRAFT: [{ verb: "start", label: "Start" }],
  EXPERIMENT_STATUS_NOT_STARTED: [{ verb: "start", label: "Start" }],
  EXPERIMENT_STATUS_RUNNING: [
    { verb: "pause", label: "Pause" },
    { verb: "conclude", label: "Conclude" },
  ],
  EXPERIMENT_STATUS_PAUSED: [
    { verb: "start", label: "Resume" },
    { verb: "conclude", label: "Conclude" },
  ],
  EXPERIMENT_STATUS_CONCLUDED: [{ verb: "archive", label: "Archive" }],
};

/** lifecycleButtons are the status changes an experiment allows now
 * (POST /v1/experiments/{id}:start, :pause, :conclude, :archive); compact
 * leaves out conclude and archive. */
export function lifecycleButtons(x: Experiment, done: () => void, compact = false): HTMLElement {
  const out = h("span", { class: "inline-error" });
  const list = (actions[x.status ?? ""] ?? []).filter((a) => !compact || a.verb === "start" || a.verb === "pause");
  return h(
    "span",
    { class: "lifecycle" },
    list.map((a) =>
      h(
        "button",
        {
          type: "button",
          class: a.verb === "start" ? "" : "secondary",
          "aria-label": `${a.label} ${x.name}`,
          onclick: async () => {
            replace(out);
            try {
              await post(`/v1/experiments/${enc(x.id)}:${a.verb}`, { etag: x.etag });
              done();
            } catch (e) {
              replace(out, errorBox(e));
            }
          },
        },
        a.label,
      ),
    ),
    out,
  );
}
