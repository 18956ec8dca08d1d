// Messages: a polite live region at the top of the page (never alert()).
import { el } from "./dom.js";
import { gettext } from "./i18n.js";

export function toast(message, kind) {
  let box = document.getElementById("task-toasts");
  if (!box) {
    box = el("div", { id: "task-toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(box);
  }
  const item = el("div", { class: "toast toast-" + (kind || "info") }, [
    el("span", { text: message }),
    el("button", { type: "button", class: "icon-button", "aria-label": gettext("Dismiss"), text: "×", onclick: function () { item.remove(); } }),
  ]);
  box.appendChild(item);
  setTimeout(function () { item.remove(); }, kind === "error" ? 12000 : 5000);
  return item;
}
