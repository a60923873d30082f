// Shared pieces of every page: loading, empty and error states, headings,
// links that route inside the app, and number formats.
import { ApiError } from "./api";
import { h } from "./dom";

export const base = "/ui/";

/** link is an in-app link: main.ts routes its clicks without a reload. */
export function link(path: string, text: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h("a", { href: base + path.replace(/^\//, ""), "data-route": "", ...attrs }, text);
}

export function loading(what: string): HTMLElement {
  return h("p", { class: "loading", role: "status" }, `Loading ${what}…`);
}

export function empty(text: string, ...more: (Node | string)[]): HTMLElement {
  return h("div", { class: "empty" }, h("p", null, text), ...more);
}

/** errorBox shows an API error as the API worded it, with its field violations. */
export function errorBox(e: unknown): HTMLElement {
  if (e instanceof ApiError) {
    return h(
      "div",
      { class: "error", role: "alert" },
      h("p", null, h("strong", null, `Error ${e.status || ""}${e.reason ? ` ${e.reason}` : ""}: `), e.message),
      e.violations.length > 0 &&
        h(
          "ul",
          null,
          e.violations.map((v) => h("li", null, v.field ? `${v.field}: ${v.message}` : v.message)),
        ),
    );
  }
  return h("div", { class: "error", role: "alert" }, h("p", null, String((e as Error)?.message ?? e)));
}

export function heading(text: string, ...actions: (Node | false | null)[]): HTMLElement {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), h("div", { class: "actions" }, actions));
}

export function pct(x: number | undefined, digits = 2): string {
  if (x === undefined || Number.isNaN(x)) return "—";
  return `${(x * 100).toFixed(digits)} %`;
}

export function signedPct(x: number | undefined, digits = 2): string {
  if (x === undefined || Number.isNaN(x)) return "—";
  const v = (x * 100).toFixed(digits);
  return `${x > 0 ? "+" : ""}${v} %`;
}

export function num(x: string | number | undefined): string {
  if (x === undefined || x === "") return "0";
  return Number(x).toLocaleString("en-US");
}

export function statusLabel(s: string | undefined): string {
  return (s ?? "").replace(/^[A-Z]+_STATUS_/, "").toLowerCase().replace(/_/g, " ") || "unknown";
}

/** copyButton copies text to the clipboard and says so to screen readers. */
export function copyButton(text: string, label: string): HTMLElement {
  const note = h("span", { class: "copied", role: "status" });
  const btn = h(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-label": label,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          note.textContent = "Copied";
        } catch {
          note.textContent = "Select the key and copy it";
        }
      },
    },
    "Copy",
  );
  return h("span", null, btn, note);
}
