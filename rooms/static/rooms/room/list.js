// The message stream: messages in seq order, history pages both ways, the unread divider,
// "jump to latest" and the read position kept in this browser.
//
// Ordering rules (mirrors contorl_client): `lastSeq` is the highest seq below which this
// page has every message; after a reconnect the socket asks the server to replay from there,
// and a frame whose seq is already rendered is dropped.
import { api } from "../../js/core/api.js";
import { gettext, interpolate, ngettext } from "../../js/core/i18n.js";
import { forgetOutbox, outbox } from "./composer.js";
import { room, ui } from "./context.js";
import { render } from "./message.js";

const PAGE = 50;
const AROUND = 25;
const BIG = "4611686018427387904"; // 2**62: "before everything" for the newest page
const READ_KEY = "contorl.room." + room.id + ".read";

// Exported bindings are read-only views for the other modules; only this one changes them.
export let lastSeq = 0;          // contiguous high-water mark
const ahead = new Set();         // rendered seqs above lastSeq
const bySeq = new Map();         // seq -> <li>
let oldestSeq = null;
let hasOlder = true;
let loadingOlder = false;
export let refreshes = 0;
// Scrolling like a chat: the pane follows new messages only while the reader is at the
// bottom; otherwise they are counted (unread divider + "jump to latest"). After opening a
// search hit the list may stop short of the newest message (`hasNewer`): live messages are
// then only counted, and scrolling down (or the jump button) fetches the rest.
export let atBottom = true;
export let hasNewer = false;
let loadingNewer = false;
let newestShown = null;
export let unread = 0;
let divider = null;

function distanceToBottom() {
  return ui.stream.scrollHeight - ui.stream.scrollTop - ui.stream.clientHeight;
}
function nearBottom() { return distanceToBottom() < 80; }
export function scrollToBottom() { ui.stream.scrollTop = ui.stream.scrollHeight; atBottom = true; }

// Insert in seq order (replays and live frames can interleave).
function place(li, seq) {
  const stick = atBottom;
  let after = null;
  const items = ui.list.children;
  for (let i = items.length - 1; i >= 0; i--) {
    const s = Number(items[i].dataset.seq);
    if (items[i].classList.contains("pending")) continue;
    if (s < seq) { after = items[i]; break; }
  }
  if (after) after.after(li);
  else ui.list.prepend(li);
  // Pending (unsent) bubbles stay at the bottom.
  ui.list.querySelectorAll(".msg.pending").forEach(function (p) { ui.list.appendChild(p); });
  if (stick) ui.stream.scrollTop = ui.stream.scrollHeight;
}

// `fromHistory`: fetched over HTTP (a page of history), not a live frame.
export function accept(data, fromHistory) {
  const seq = data.seq;
  if (bySeq.has(seq)) { replace(data); return; }
  if (seq > lastSeq) {
    ahead.add(seq);
    while (ahead.has(lastSeq + 1)) { lastSeq += 1; ahead.delete(lastSeq); }
  }
  if (data.is_deleted) return; // a tombstone from a replay: nothing to show
  const fromOthers = !(data.sender && data.sender.id === room.me);
  if (!fromHistory && hasNewer && newestShown !== null && seq > newestShown) {
    if (fromOthers) noteUnread(null);  // not on screen yet: the jump button fetches it
    return;
  }
  const pending = data.client_id && outbox.find(function (o) { return o.clientId === data.client_id; });
  const stale = data.client_id && ui.list.querySelector('.msg.pending[data-client-id="' + CSS.escape(data.client_id) + '"]');
  if (stale) stale.remove();
  if (pending) forgetOutbox(data.client_id);
  const li = render(data);
  bySeq.set(seq, li);
  const arrived = !fromHistory && newestShown !== null && seq > newestShown;
  place(li, seq);
  if (oldestSeq === null || seq < oldestSeq) oldestSeq = seq;
  if (newestShown === null || seq > newestShown) newestShown = seq;
  if (arrived && !atBottom && fromOthers && data.message_type !== "system") noteUnread(li);
  else if (atBottom && !hasNewer) markRead();
}

// --- unread divider, "jump to latest", read position --------------------------------------------
function makeDivider() {
  const d = document.createElement("li");
  d.className = "unread-divider"; d.id = "unread-divider";
  d.setAttribute("role", "separator");
  const label = document.createElement("span");
  label.textContent = gettext("New messages");
  d.appendChild(label);
  return d;
}
function noteUnread(li) {
  if (unread === 0 && divider) { divider.remove(); divider = null; }  // a new batch starts
  unread += 1;
  if (li && !divider) { divider = makeDivider(); li.before(divider); }
  updateJump();
}
export function updateJump() {
  if (!ui.jump) return;
  ui.jump.hidden = atBottom && !hasNewer;
  ui.jump.textContent = (unread ? interpolate(ngettext("%s new message", "%s new messages", unread), [unread]) : gettext("Jump to latest")) + " ↓";
}
function readSeq() {
  try { return Number(localStorage.getItem(READ_KEY)) || 0; } catch { return 0; }
}
function markRead() {
  unread = 0;
  if (newestShown === null || document.hidden) return;
  try { if (newestShown > readSeq()) localStorage.setItem(READ_KEY, String(newestShown)); } catch { /* private mode */ }
}
// On opening: a divider above the first message from others since this browser last read the room.
function markSinceLastRead(lastRead) {
  if (!lastRead) return;
  const first = Array.from(bySeq.keys()).sort(function (a, b) { return a - b; }).find(function (seq) {
    const d = bySeq.get(seq)._data;
    return seq > lastRead && d && !(d.sender && d.sender.id === room.me) && d.message_type !== "system";
  });
  if (first === undefined) return;
  divider = makeDivider();
  bySeq.get(first).before(divider);
}
function flash(li) {
  li.classList.remove("flash");
  void li.offsetWidth;  // restart the animation when the same message is opened twice
  li.classList.add("flash");
  setTimeout(function () { li.classList.remove("flash"); }, 2600);
}

export function replace(data) {
  const old = bySeq.get(data.seq);
  if (!old) return;
  if (data.is_deleted) { old.remove(); bySeq.delete(data.seq); return; }
  const li = render(data);
  old.replaceWith(li);
  bySeq.set(data.seq, li);
}

// A resume replays the messages sent while we were away, not what happened to the ones
// already on screen: edits, deletions and reactions come from one read of the shown range.
export async function refreshShown() {
  if (oldestSeq === null) return;
  let after = oldestSeq - 1;
  const upTo = lastSeq;
  while (after < upTo) {
    const res = await api("GET", "/api/rooms/" + room.id + "/messages/?limit=200&after_seq=" + after);
    if (!res.ok) return;
    const rows = res.data.results;
    const covered = rows.length < 200 ? upTo : rows[rows.length - 1].seq;
    const live = new Set(rows.map(function (d) { return d.seq; }));
    rows.forEach(function (d) { if (bySeq.has(d.seq)) replace(d); });
    bySeq.forEach(function (li, seq) {  // shown but no longer served: deleted meanwhile
      if (seq > after && seq <= covered && !live.has(seq)) { li.remove(); bySeq.delete(seq); }
    });
    if (rows.length < 200) break;
    after = covered;
  }
  refreshes += 1;
}

// --- history and infinite scroll ------------------------------------------------------------
function messagesUrl(query) { return "/api/rooms/" + room.id + "/messages/?" + query; }

// Start over with an empty list (before showing another stretch of the room).
function resetList() {
  ui.list.querySelectorAll("li:not(.pending)").forEach(function (li) { li.remove(); });
  bySeq.clear();
  oldestSeq = null; newestShown = null; divider = null; unread = 0;
  hasOlder = true; hasNewer = false;
}

export async function loadLatest() {
  const res = await api("GET", messagesUrl("limit=" + PAGE + "&before_seq=" + BIG));
  if (!res.ok) return;
  const lastRead = readSeq();
  resetList();
  lastSeq = Math.max(lastSeq, res.data.last_seq || 0);
  res.data.results.forEach(function (d) { accept(d, true); });
  hasOlder = res.data.results.length === PAGE;
  ui.older.hidden = !hasOlder;
  markSinceLastRead(lastRead);
  scrollToBottom();
  markRead();
  updateJump();
}

// A stretch of the room around one message (a search hit or a #seq-N link).
export async function loadAround(seq) {
  const got = await Promise.all([
    api("GET", messagesUrl("limit=" + AROUND + "&before_seq=" + (seq + 1))),
    api("GET", messagesUrl("limit=" + AROUND + "&after_seq=" + seq)),
  ]);
  if (!got[0].ok || !got[1].ok) return false;
  resetList();
  atBottom = false;
  lastSeq = Math.max(lastSeq, got[0].data.last_seq || 0);
  got[0].data.results.concat(got[1].data.results).forEach(function (d) { accept(d, true); });
  hasOlder = got[0].data.results.length === AROUND;
  hasNewer = got[1].data.results.length === AROUND;
  ui.older.hidden = !hasOlder;
  return true;
}

export async function jumpTo(seq) {
  if (!bySeq.has(seq) && !(await loadAround(seq))) return;
  const li = bySeq.get(seq);
  if (!li) { if (ui.hint) ui.hint.textContent = gettext("That message is no longer available."); return; }
  const box = ui.stream.getBoundingClientRect();
  const at = li.getBoundingClientRect();
  ui.stream.scrollTop += at.top - box.top - (ui.stream.clientHeight - li.offsetHeight) / 2;
  atBottom = nearBottom() && !hasNewer;
  updateJump();
  flash(li);
}

async function jumpToLatest() {
  if (hasNewer) await loadLatest();
  else { scrollToBottom(); markRead(); }
  updateJump();
  if (ui.text) ui.text.focus();
}

async function loadOlder() {
  if (loadingOlder || !hasOlder || oldestSeq === null) return;
  loadingOlder = true;
  const before = ui.stream.scrollHeight - ui.stream.scrollTop;
  const res = await api("GET", messagesUrl("limit=" + PAGE + "&before_seq=" + oldestSeq));
  if (res.ok) {
    res.data.results.forEach(function (d) { accept(d, true); });
    hasOlder = res.data.results.length === PAGE;
    ui.older.hidden = !hasOlder;
    ui.stream.scrollTop = ui.stream.scrollHeight - before; // keep the reader where they were
  }
  loadingOlder = false;
}

async function loadNewer() {
  if (loadingNewer || !hasNewer || newestShown === null) return;
  loadingNewer = true;
  const res = await api("GET", messagesUrl("limit=" + PAGE + "&after_seq=" + newestShown));
  if (res.ok) {
    res.data.results.forEach(function (d) { accept(d, true); });
    hasNewer = res.data.results.length === PAGE;
  }
  loadingNewer = false;
  updateJump();
}

ui.stream.addEventListener("scroll", function () {
  atBottom = nearBottom() && !hasNewer;
  if (ui.stream.scrollTop < 200) loadOlder();
  if (hasNewer && distanceToBottom() < 200) loadNewer();
  if (atBottom) markRead();
  updateJump();
});
ui.older.addEventListener("click", loadOlder);
if (ui.jump) ui.jump.addEventListener("click", jumpToLatest);
window.addEventListener("hashchange", function () {
  const seq = hashSeq();
  if (seq) jumpTo(seq);
});
export function hashSeq() {
  const m = /^#seq-(\d{1,18})$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

// The list item showing `seq`, if it is on screen.
export function shown(seq) { return bySeq.get(seq); }

// A deletion announced on the socket: the message leaves the list.
export function removeShown(seq) {
  const li = bySeq.get(seq);
  if (li) { li.remove(); bySeq.delete(seq); }
}
