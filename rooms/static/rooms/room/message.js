// One message as a list item: author, time, body (the server's sanitized HTML), reply
// reference, reactions and the floating actions (react, reply, edit, delete).
import { gettext, interpolate } from "../../js/core/i18n.js";
import { formatWhen } from "../search.js";
import { removeMessage, showHistory, startEdit, toggleReaction } from "./actions.js";
import { startReply } from "./composer.js";
import { limits, room, statusLabels } from "./context.js";
import { jumpTo } from "./list.js";
import { togglePicker } from "./picker.js";

function timeText(iso) { return formatWhen(iso); }

// System lines are stored in the words of whoever caused them; known events are said
// again in this page's language from their metadata, the stored text is the fallback.
function systemText(data) {
  const m = data.metadata || {};
  if (m.event === "opened" && m.user) return interpolate(gettext("%s opened the room."), [m.user]);
  if (m.event === "status" && m.user && m.status) {
    return interpolate(gettext("%s changed the status from %s to %s."), [m.user, statusLabels[m.status.from] || m.status.from, statusLabels[m.status.to] || m.status.to]);
  }
  return data.content;
}

export function button(label, cls, onClick, title) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = label;
  if (cls) b.className = cls;
  if (title) { b.title = title; b.setAttribute("aria-label", title); }
  b.addEventListener("click", onClick);
  return b;
}

function renderBody(data) {
  const body = document.createElement("div");
  body.className = "msg-body";
  if (data.is_deleted) { body.textContent = gettext("This message was deleted."); return body; }
  const file = data.metadata && data.metadata.file;
  if ((data.message_type === "image_ref" || data.message_type === "file_ref") && file) {
    const a = document.createElement("a");
    a.href = file.url; a.textContent = file.name;
    body.appendChild(a);
    if (data.message_type === "image_ref" && file.thumbnail_url) {
      const wrap = document.createElement("a");
      wrap.href = file.url; wrap.className = "msg-image";
      const img = document.createElement("img");
      img.src = file.thumbnail_url; img.alt = file.name; img.loading = "lazy";
      wrap.appendChild(img); body.appendChild(wrap);
    }
    return body;
  }
  // `html` is the server's one rendering of the source (Markdown subset, raw HTML off,
  // nh3 allowlist); without it (an old payload) the source is shown as plain text.
  if (typeof data.html === "string") body.innerHTML = data.html;
  else body.textContent = data.content;
  if (data.message_type === "incident_data" && data.metadata && data.metadata.incident) {
    const pre = document.createElement("pre");
    pre.className = "incident-data";
    pre.textContent = JSON.stringify(data.metadata.incident, null, 2);
    body.appendChild(pre);
  }
  return body;
}

export function renderReactions(li, data) {
  let box = li.querySelector(".reactions");
  if (!box) { box = document.createElement("div"); box.className = "reactions"; li.appendChild(box); }
  box.textContent = "";
  (data.reactions || []).forEach(function (r) {
    const mine = r.users.indexOf(room.me) >= 0;
    const b = button(r.emoji + " " + r.count, "reaction" + (mine ? " mine" : ""), function () { toggleReaction(data.id, r.emoji, mine); },
      interpolate(gettext("%s reactions"), [r.emoji]));
    b.dataset.emoji = r.emoji;
    box.appendChild(b);
  });
}

export function render(data) {
  const li = document.createElement("li");
  li.id = "seq-" + data.seq;
  li.className = "msg";
  li.dataset.seq = data.seq; li.dataset.id = data.id; li.dataset.version = data.version;
  li._data = data;
  if (data.message_type === "system") {
    li.classList.add("system");
    li.textContent = systemText(data);
    return li;
  }
  const mine = data.sender && data.sender.id === room.me;
  if (mine) li.classList.add("mine");
  const mentions = (data.metadata && data.metadata.mentions) || [];
  if (mentions.some(function (m) { return m.id === room.me; })) li.classList.add("mentions-me");
  const head = document.createElement("div");
  head.className = "msg-head";
  const who = document.createElement("span");
  who.className = "msg-author"; who.textContent = data.sender ? data.sender.display_name : gettext("System");
  const when = document.createElement("time");
  when.dateTime = data.created_at; when.textContent = timeText(data.created_at);
  head.append(who, when);
  if (data.edited_at && !data.is_deleted) {
    head.appendChild(button(gettext("(edited)"), "msg-edited", function () { showHistory(data.id); }, gettext("Show edit history")));
  }
  const ref = data.metadata && data.metadata.reply_to;
  if (ref && !data.is_deleted && ref.seq) {
    const quote = button("↪ " + (ref.author || "") + ": " + (ref.excerpt || ""), "msg-reply-ref", function () { jumpTo(Number(ref.seq)); },
      gettext("Show the message this replies to"));
    li.append(head, quote, renderBody(data));
  } else {
    li.append(head, renderBody(data));
  }
  if (!data.is_deleted) {
    renderReactions(li, data);
    if (room.canWrite) li.appendChild(tools(li, data, mine));
  }
  return li;
}

// Actions float over the message on hover or keyboard focus instead of taking a row each.
function tools(li, data, mine) {
  const box = document.createElement("div");
  box.className = "msg-tools";
  const react = button("☺+", "react-button", function () { togglePicker(li, data, react); }, gettext("Add reaction"));
  react.setAttribute("aria-haspopup", "dialog");
  react.setAttribute("aria-expanded", "false");
  box.appendChild(react);
  box.appendChild(button("↪", "reply-button", function () { startReply(data); }, gettext("Reply")));
  if (mine && Date.now() - new Date(data.created_at).getTime() < limits.editWindowMs && data.message_type === "text") {
    box.appendChild(button("✎", "edit-button", function () { startEdit(li); }, gettext("Edit")));
  }
  if (mine) box.appendChild(button("🗑", "delete-button", function () { removeMessage(li); }, gettext("Delete")));
  return box;
}
