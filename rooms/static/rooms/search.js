// Incident rooms: helpers shared by the room page and the room list (message search with
// highlighted hits, dates in the page's language), and the "search my rooms" form.
import { api, errorMessage } from "../js/core/api.js";
import { gettext, interpolate, ngettext } from "../js/core/i18n.js";
import { newestOnly } from "../js/core/newest.js";

const lang = document.documentElement.lang || undefined;

// One date/time format for every room screen: the page language decides the order and words.
const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
export function formatWhen(iso, full) {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return "";
  const today = new Date();
  const sameDay = d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return (sameDay && !full ? timeFormat : dateTimeFormat).format(d);
}

function termsOf(q) {
  return (q || "").trim().split(/\s+/).filter(Boolean).slice(0, 10);
}

function matcher(q) {
  const terms = termsOf(q).map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
  return terms.length ? new RegExp(terms.join("|"), "gi") : null;
}

// The hit's surroundings, not the whole message: long pasted logs would bury the match.
function snippet(text, q, width) {
  width = width || 160;
  if (text.length <= width) return text;
  const re = matcher(q);
  const m = re ? re.exec(text) : null;
  const at = m ? m.index : 0;
  const start = Math.max(0, Math.min(at - Math.floor(width / 3), text.length - width));
  return (start > 0 ? "…" : "") + text.slice(start, start + width) + (start + width < text.length ? "…" : "");
}

// Escape first, then highlight: the text only ever becomes text nodes, and the hits are
// wrapped in <mark> elements built here, so a message can never inject markup.
function highlight(text, q) {
  const frag = document.createDocumentFragment();
  const re = matcher(q);
  let last = 0;
  if (re) {
    let m;
    while ((m = re.exec(text)) !== null) {
      if (!m[0]) { re.lastIndex += 1; continue; }
      if (m.index > last) frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      const mark = document.createElement("mark");
      mark.textContent = m[0];
      frag.appendChild(mark);
      last = m.index + m[0].length;
    }
  }
  if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
  return frag;
}

// One result row: where, who, when, and the highlighted hit; `onOpen` or a link opens it.
function resultItem(data, q, options) {
  const li = document.createElement("li");
  li.className = "search-hit";
  const a = document.createElement("a");
  a.href = "/rooms/" + data.room + "/#seq-" + data.seq;
  a.dataset.seq = data.seq;
  const head = document.createElement("span");
  head.className = "hit-head";
  const parts = [];
  if (options && options.withRoom && data.room_title) parts.push(data.room_title);
  parts.push(data.sender ? data.sender.display_name : gettext("System"));
  parts.push(formatWhen(data.created_at, true));
  head.textContent = parts.join(" · ");
  const body = document.createElement("span");
  body.className = "hit-body";
  body.appendChild(highlight(snippet(data.content, q), q));
  a.append(head, body);
  if (options && options.onOpen) {
    a.addEventListener("click", function (ev) { ev.preventDefault(); options.onOpen(data); });
  }
  li.appendChild(a);
  return li;
}

const searchTickets = new WeakMap(); // per result list: a second search there supersedes the first
export async function runSearch(url, q, list, status, options) {
  if (!searchTickets.has(list)) searchTickets.set(list, newestOnly());
  const isNewest = searchTickets.get(list)();
  list.textContent = "";
  status.textContent = gettext("Searching…");
  const res = await api("GET", url + "?q=" + encodeURIComponent(q));
  if (!isNewest()) return;
  if (!res.ok) {
    status.textContent = errorMessage(res, gettext("That did not work."));
    return;
  }
  const rows = res.data.results;
  status.textContent = rows.length ? interpolate(ngettext("%s message found", "%s messages found", rows.length), [rows.length]) : gettext("No messages found.");
  rows.forEach(function (d) { list.appendChild(resultItem(d, q, options)); });
}

// The room list's "search messages in my rooms" form.
const form = document.getElementById("message-search");
if (form) {
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const q = document.getElementById("ms-q").value.trim();
    if (!q) return;
    runSearch("/api/rooms/messages/search/", q, document.getElementById("ms-results"), document.getElementById("ms-status"), { withRoom: true });
  });
}
