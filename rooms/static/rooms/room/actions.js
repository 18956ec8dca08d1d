// What can be done to a message: react, edit (within the server's edit window), delete,
// and show its edit history.
import { api, errorMessage } from "../../js/core/api.js";
import { gettext } from "../../js/core/i18n.js";
import { formatWhen } from "../search.js";
import { limits, ui } from "./context.js";
import { replace, shown } from "./list.js";
import { button, renderReactions } from "./message.js";

export async function toggleReaction(messageId, emoji, mine) {
  const url = "/api/messages/" + messageId + "/reactions/";
  const res = mine ? await api("DELETE", url + encodeURIComponent(emoji) + "/") : await api("POST", url, { emoji: emoji });
  if (!res.ok && res.status !== 404) alert(errorMessage(res, gettext("That did not work.")));
}

export function onReaction(data) {
  const li = shown(data.seq);
  if (!li || !li._data) return;
  li._data.reactions = data.reactions;
  renderReactions(li, li._data);  // the tools float above, so their place (and focus) stays
}

export function startEdit(li) {
  const data = li._data;
  const body = li.querySelector(".msg-body");
  const form = document.createElement("form");
  form.className = "edit-form";
  const area = document.createElement("textarea");
  area.value = data.content; area.maxLength = limits.textMaxBytes; area.setAttribute("aria-label", gettext("Edit message"));
  const save = document.createElement("button");
  save.type = "submit"; save.className = "primary"; save.textContent = gettext("Save");
  const cancel = button(gettext("Cancel"), "", function () { form.replaceWith(body); });
  form.append(area, save, cancel);
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const res = await api("PATCH", "/api/messages/" + data.id + "/", { content: area.value, version: Number(li.dataset.version) });
    if (res.ok) { replace(res.data); return; }
    alert(errorMessage(res, gettext("That did not work.")));
    if (res.status === 409 && res.data.error.details.current) replace(res.data.error.details.current);
  });
  body.replaceWith(form);
  area.focus();
}

export async function removeMessage(li) {
  if (!confirm(gettext("Delete this message?"))) return;
  const res = await api("DELETE", "/api/messages/" + li.dataset.id + "/");
  if (!res.ok && res.status !== 404) alert(errorMessage(res, gettext("That did not work.")));
}

export async function showHistory(messageId) {
  const res = await api("GET", "/api/messages/" + messageId + "/history/");
  if (!res.ok) return;
  ui.historyList.textContent = "";
  res.data.forEach(function (h) {
    const item = document.createElement("li");
    const when = document.createElement("div");
    when.className = "msg-head";
    when.textContent = formatWhen(h.edited_at, true) + (h.edited_by ? " · " + h.edited_by.display_name : "");
    const body = document.createElement("div");
    body.className = "msg-body"; body.innerHTML = h.html; // rendered and allowlisted server-side
    item.append(when, body);
    ui.historyList.appendChild(item);
  });
  if (ui.history.showModal) ui.history.showModal(); else ui.history.setAttribute("open", "");
}
