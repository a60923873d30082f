import { setToken } from "../api";
import { h } from "../dom";
import { errorBox } from "../ui";

/** signIn asks for an API token; it is kept in sessionStorage only. */
export function signIn(done: () => Promise<void>, err?: unknown): HTMLElement {
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
    "aria-describedby": "token-help",
  });
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        setToken(input.value.trim());
        await done();
      },
    },
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { id: "token-help", class: "help" }, "A token such as lift_pat_…; it stays in this browser tab's session storage and is sent only to this server's API."),
    h("button", { type: "submit" }, "Sign in"),
  );
  return h(
    "main",
    { id: "main", class: "signin" },
    h("h1", null, "Sign in to Lift"),
    err ? errorBox(err) : null,
    form,
  );
}
