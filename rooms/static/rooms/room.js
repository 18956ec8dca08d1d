// Incident room page: ordered message stream over /ws/rooms/{id}/ with resume, an offline
// queue, typing, presence, reactions, edits, uploads and room settings.
//
// Ordering rules (mirrors contorl_client): `lastSeq` is the highest seq below which this
// page has every message; after a reconnect it asks the server to replay from there, and a
// frame whose seq it already rendered is dropped. Messages typed while offline wait in
// `outbox` (each with a client_id) and go out once, in order, when the socket is back; the
// server stores a repeated client_id only once, so re-sending an unacknowledged one is safe.
import { api } from "../js/core/api.js";
import { gettext, interpolate as fmt, ngettext } from "../js/core/i18n.js";
import { liveSocket } from "../js/core/live.js";
import * as rooms from "./search.js";

(function () {
  const root = document.getElementById("room");
  if (!root) return;
  const roomId = Number(root.dataset.roomId);
  const me = Number(document.body.dataset.userId);
  const canWrite = root.dataset.canWrite === "1";
  const isOwner = root.dataset.isOwner === "1";
  let roomVersion = Number(root.dataset.version);
  const EDIT_WINDOW_MS = 15 * 60 * 1000;
  // Reactions people use on a shop floor first, then the usual faces and symbols (about 70).
  const EMOJI_SETS = [
    [gettext("Frequent"), "👍 ✅ 👀 ❗ 🙏 👎 ❌ ⚠️ 🔥 🎉"],
    [gettext("Status"), "🟢 🟡 🔴 ⏳ ⏸️ ▶️ 🛑 🔧 🛠️ 🔩 ⚙️ 🧯 🚧 🔌 🔋 💡"],
    [gettext("Faces"), "😀 😄 😅 😂 🙂 😉 😍 🤔 😐 😕 😟 😢 😮 😱 😡 🤯 😴 🥳"],
    [gettext("Hands"), "👏 🙌 👋 🤝 ✋ 👌 ✌️ 🤞 💪 👉 ☝️ 🫡"],
    [gettext("Symbols"), "❤️ 💯 ❓ ⭐ 💥 ⚡ 📌 📎 📝 📣 🔔 🔒 📷 📦 🚚 🏭"],
  ];
  const PICKER_COLUMNS = 8;
  const PAGE = 50;
  const AROUND = 25;
  const READ_KEY = "contorl.room." + roomId + ".read";
  const statusLabels = JSON.parse((document.getElementById("room-status-labels") || { textContent: "{}" }).textContent);
  const BIG = "4611686018427387904"; // 2**62: "before everything" for the newest page

  const el = {
    stream: document.getElementById("stream"),
    list: document.getElementById("messages"),
    older: document.getElementById("load-older"),
    typing: document.getElementById("typing-line"),
    composer: document.getElementById("composer"),
    text: document.getElementById("composer-text"),
    hint: document.getElementById("composer-hint"),
    mentions: document.getElementById("mention-list"),
    file: document.getElementById("file-input"),
    preview: document.getElementById("drop-preview"),
    online: document.getElementById("online-list"),
    members: document.getElementById("member-list"),
    status: document.getElementById("live-status"),
    side: document.getElementById("room-side"),
    toggleSide: document.getElementById("toggle-side"),
    history: document.getElementById("history-dialog"),
    historyList: document.getElementById("history-list"),
    jump: document.getElementById("jump-latest"),
    reply: document.getElementById("reply-to"),
    searchToggle: document.getElementById("room-search-toggle"),
    search: document.getElementById("room-search"),
    searchForm: document.getElementById("room-search-form"),
    searchQ: document.getElementById("room-search-q"),
    searchStatus: document.getElementById("room-search-status"),
    searchResults: document.getElementById("room-search-results"),
  };

  let lastSeq = 0;                 // contiguous high-water mark
  const ahead = new Set();         // rendered seqs above lastSeq
  const bySeq = new Map();         // seq -> <li>
  let oldestSeq = null;
  let hasOlder = true;
  let loadingOlder = false;
  const outbox = [];               // [{clientId, frame, li}] until acked
  let members = [];
  let socket = null;
  let ready = false;
  // Set by every ready after the first: the resume it asks for must be followed by a reread.
  // (Keyed to ready, not to resumed, so going away before the first resumed arrives still counts.)
  let connectedBefore = false;
  let rereadAfterResume = false;
  let refreshes = 0;
  // Scrolling like a chat: the pane follows new messages only while the reader is at the
  // bottom; otherwise they are counted (unread divider + "jump to latest"). After opening a
  // search hit the list may stop short of the newest message (`hasNewer`): live messages are
  // then only counted, and scrolling down (or the jump button) fetches the rest.
  let atBottom = true;
  let hasNewer = false;
  let loadingNewer = false;
  let newestShown = null;
  let unread = 0;
  let divider = null;
  let replyTo = null;

  // --- rendering --------------------------------------------------------------------------
  function timeText(iso) { return rooms.formatWhen(iso); }

  // System lines are stored in the words of whoever caused them; known events are said
  // again in this page's language from their metadata, the stored text is the fallback.
  function systemText(data) {
    const m = data.metadata || {};
    if (m.event === "opened" && m.user) return fmt(gettext("%s opened the room."), [m.user]);
    if (m.event === "status" && m.user && m.status) {
      return fmt(gettext("%s changed the status from %s to %s."), [m.user, statusLabels[m.status.from] || m.status.from, statusLabels[m.status.to] || m.status.to]);
    }
    return data.content;
  }

  function button(label, cls, onClick, title) {
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

  function renderReactions(li, data) {
    let box = li.querySelector(".reactions");
    if (!box) { box = document.createElement("div"); box.className = "reactions"; li.appendChild(box); }
    box.textContent = "";
    (data.reactions || []).forEach(function (r) {
      const mine = r.users.indexOf(me) >= 0;
      const b = button(r.emoji + " " + r.count, "reaction" + (mine ? " mine" : ""), function () { toggleReaction(data.id, r.emoji, mine); },
        fmt(gettext("%s reactions"), [r.emoji]));
      b.dataset.emoji = r.emoji;
      box.appendChild(b);
    });
  }

  function render(data) {
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
    const mine = data.sender && data.sender.id === me;
    if (mine) li.classList.add("mine");
    const mentions = (data.metadata && data.metadata.mentions) || [];
    if (mentions.some(function (m) { return m.id === me; })) li.classList.add("mentions-me");
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
      if (canWrite) li.appendChild(tools(li, data, mine));
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
    if (mine && Date.now() - new Date(data.created_at).getTime() < EDIT_WINDOW_MS && data.message_type === "text") {
      box.appendChild(button("✎", "edit-button", function () { startEdit(li); }, gettext("Edit")));
    }
    if (mine) box.appendChild(button("🗑", "delete-button", function () { removeMessage(li); }, gettext("Delete")));
    return box;
  }

  // --- the emoji picker: categorized, arrow keys move, Enter picks, Escape closes --------------------
  let openPicker = null;
  function closePicker(returnFocus) {
    if (!openPicker) return;
    const p = openPicker;
    openPicker = null;
    p.picker.remove();
    p.opener.setAttribute("aria-expanded", "false");
    p.li.classList.remove("tools-open");
    if (returnFocus) p.opener.focus();
  }
  function togglePicker(li, data, opener) {
    if (openPicker && openPicker.li === li) { closePicker(true); return; }
    closePicker(false);
    const picker = document.createElement("div");
    picker.className = "picker";
    picker.setAttribute("role", "dialog");
    picker.setAttribute("aria-label", gettext("Add reaction"));
    EMOJI_SETS.forEach(function (set) {
      const title = document.createElement("div");
      title.className = "picker-title"; title.textContent = set[0];
      const grid = document.createElement("div");
      grid.className = "picker-grid"; grid.setAttribute("role", "group"); grid.setAttribute("aria-label", set[0]);
      set[1].split(" ").forEach(function (e) {
        grid.appendChild(button(e, "", function () { closePicker(true); toggleReaction(data.id, e, hasMine(li, e)); }, fmt(gettext("React with %s"), [e])));
      });
      picker.append(title, grid);
    });
    picker.addEventListener("keydown", function (ev) { pickerKey(ev, picker); });
    const below = el.stream.getBoundingClientRect().bottom - li.getBoundingClientRect().bottom;
    if (below < 320) picker.classList.add("up");
    opener.parentNode.appendChild(picker);
    opener.setAttribute("aria-expanded", "true");
    li.classList.add("tools-open");
    openPicker = { picker: picker, opener: opener, li: li };
    picker.querySelector("button").focus();
  }
  function pickerKey(ev, picker) {
    const all = Array.from(picker.querySelectorAll("button"));
    const i = all.indexOf(document.activeElement);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: PICKER_COLUMNS, ArrowUp: -PICKER_COLUMNS };
    if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); closePicker(true); return; }
    if (ev.key === "Tab") { closePicker(false); return; }
    let next = null;
    if (ev.key in moves) next = Math.min(all.length - 1, Math.max(0, i + moves[ev.key]));
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = all.length - 1;
    if (next !== null) { ev.preventDefault(); all[next].focus(); }
  }
  document.addEventListener("mousedown", function (ev) {
    if (openPicker && !openPicker.picker.contains(ev.target) && ev.target !== openPicker.opener) closePicker(false);
  });

  function hasMine(li, emoji) {
    return ((li._data && li._data.reactions) || []).some(function (r) { return r.emoji === emoji && r.users.indexOf(me) >= 0; });
  }

  function distanceToBottom() {
    return el.stream.scrollHeight - el.stream.scrollTop - el.stream.clientHeight;
  }
  function nearBottom() { return distanceToBottom() < 80; }
  function scrollToBottom() { el.stream.scrollTop = el.stream.scrollHeight; atBottom = true; }

  // Insert in seq order (replays and live frames can interleave).
  function place(li, seq) {
    const stick = atBottom;
    let after = null;
    const items = el.list.children;
    for (let i = items.length - 1; i >= 0; i--) {
      const s = Number(items[i].dataset.seq);
      if (items[i].classList.contains("pending")) continue;
      if (s < seq) { after = items[i]; break; }
    }
    if (after) after.after(li);
    else el.list.prepend(li);
    // Pending (unsent) bubbles stay at the bottom.
    el.list.querySelectorAll(".msg.pending").forEach(function (p) { el.list.appendChild(p); });
    if (stick) el.stream.scrollTop = el.stream.scrollHeight;
  }

  // `fromHistory`: fetched over HTTP (a page of history), not a live frame.
  function accept(data, fromHistory) {
    const seq = data.seq;
    if (bySeq.has(seq)) { replace(data); return; }
    if (seq > lastSeq) {
      ahead.add(seq);
      while (ahead.has(lastSeq + 1)) { lastSeq += 1; ahead.delete(lastSeq); }
    }
    if (data.is_deleted) return; // a tombstone from a replay: nothing to show
    const fromOthers = !(data.sender && data.sender.id === me);
    if (!fromHistory && hasNewer && newestShown !== null && seq > newestShown) {
      if (fromOthers) noteUnread(null);  // not on screen yet: the jump button fetches it
      return;
    }
    const pending = data.client_id && outbox.find(function (o) { return o.clientId === data.client_id; });
    const stale = data.client_id && el.list.querySelector('.msg.pending[data-client-id="' + CSS.escape(data.client_id) + '"]');
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
  function updateJump() {
    if (!el.jump) return;
    el.jump.hidden = atBottom && !hasNewer;
    el.jump.textContent = (unread ? fmt(ngettext("%s new message", "%s new messages", unread), [unread]) : gettext("Jump to latest")) + " ↓";
  }
  function readSeq() {
    try { return Number(localStorage.getItem(READ_KEY)) || 0; } catch (e) { return 0; }
  }
  function markRead() {
    unread = 0;
    if (newestShown === null || document.hidden) return;
    try { if (newestShown > readSeq()) localStorage.setItem(READ_KEY, String(newestShown)); } catch (e) { /* private mode */ }
  }
  // On opening: a divider above the first message from others since this browser last read the room.
  function markSinceLastRead(lastRead) {
    if (!lastRead) return;
    const first = Array.from(bySeq.keys()).sort(function (a, b) { return a - b; }).find(function (seq) {
      const d = bySeq.get(seq)._data;
      return seq > lastRead && d && !(d.sender && d.sender.id === me) && d.message_type !== "system";
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

  function replace(data) {
    const old = bySeq.get(data.seq);
    if (!old) return;
    if (data.is_deleted) { old.remove(); bySeq.delete(data.seq); return; }
    const li = render(data);
    old.replaceWith(li);
    bySeq.set(data.seq, li);
  }

  // A resume replays the messages sent while we were away, not what happened to the ones
  // already on screen: edits, deletions and reactions come from one read of the shown range.
  async function refreshShown() {
    if (oldestSeq === null) return;
    let after = oldestSeq - 1;
    const upTo = lastSeq;
    while (after < upTo) {
      const res = await api("GET", "/api/rooms/" + roomId + "/messages/?limit=200&after_seq=" + after);
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
  function messagesUrl(query) { return "/api/rooms/" + roomId + "/messages/?" + query; }

  // Start over with an empty list (before showing another stretch of the room).
  function resetList() {
    el.list.querySelectorAll("li:not(.pending)").forEach(function (li) { li.remove(); });
    bySeq.clear();
    oldestSeq = null; newestShown = null; divider = null; unread = 0;
    hasOlder = true; hasNewer = false;
  }

  async function loadLatest() {
    const res = await api("GET", messagesUrl("limit=" + PAGE + "&before_seq=" + BIG));
    if (!res.ok) return;
    const lastRead = readSeq();
    resetList();
    lastSeq = Math.max(lastSeq, res.data.last_seq || 0);
    res.data.results.forEach(function (d) { accept(d, true); });
    hasOlder = res.data.results.length === PAGE;
    el.older.hidden = !hasOlder;
    markSinceLastRead(lastRead);
    scrollToBottom();
    markRead();
    updateJump();
  }

  // A stretch of the room around one message (a search hit or a #seq-N link).
  async function loadAround(seq) {
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
    el.older.hidden = !hasOlder;
    return true;
  }

  async function jumpTo(seq) {
    if (!bySeq.has(seq) && !(await loadAround(seq))) return;
    const li = bySeq.get(seq);
    if (!li) { if (el.hint) el.hint.textContent = gettext("That message is no longer available."); return; }
    const box = el.stream.getBoundingClientRect();
    const at = li.getBoundingClientRect();
    el.stream.scrollTop += at.top - box.top - (el.stream.clientHeight - li.offsetHeight) / 2;
    atBottom = nearBottom() && !hasNewer;
    updateJump();
    flash(li);
  }

  async function jumpToLatest() {
    if (hasNewer) await loadLatest();
    else { scrollToBottom(); markRead(); }
    updateJump();
    if (el.text) el.text.focus();
  }

  async function loadOlder() {
    if (loadingOlder || !hasOlder || oldestSeq === null) return;
    loadingOlder = true;
    const before = el.stream.scrollHeight - el.stream.scrollTop;
    const res = await api("GET", messagesUrl("limit=" + PAGE + "&before_seq=" + oldestSeq));
    if (res.ok) {
      res.data.results.forEach(function (d) { accept(d, true); });
      hasOlder = res.data.results.length === PAGE;
      el.older.hidden = !hasOlder;
      el.stream.scrollTop = el.stream.scrollHeight - before; // keep the reader where they were
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

  el.stream.addEventListener("scroll", function () {
    atBottom = nearBottom() && !hasNewer;
    if (el.stream.scrollTop < 200) loadOlder();
    if (hasNewer && distanceToBottom() < 200) loadNewer();
    if (atBottom) markRead();
    updateJump();
  });
  el.older.addEventListener("click", loadOlder);
  if (el.jump) el.jump.addEventListener("click", jumpToLatest);
  window.addEventListener("hashchange", function () {
    const seq = hashSeq();
    if (seq) jumpTo(seq);
  });
  function hashSeq() {
    const m = /^#seq-(\d{1,18})$/.exec(location.hash);
    return m ? Number(m[1]) : null;
  }

  // --- search in this room -----------------------------------------------------------------------
  if (el.searchToggle) {
    el.searchToggle.addEventListener("click", function () {
      const open = el.search.hidden;
      el.search.hidden = !open;
      el.searchToggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) el.searchQ.focus();
    });
    el.searchForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const q = el.searchQ.value.trim();
      if (!q) return;
      rooms.runSearch("/api/rooms/" + roomId + "/messages/search/", q, el.searchResults, el.searchStatus, {
        onOpen: function (d) { history.replaceState(null, "", "#seq-" + d.seq); jumpTo(d.seq); },
      });
    });
    el.search.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { el.search.hidden = true; el.searchToggle.setAttribute("aria-expanded", "false"); el.searchToggle.focus(); }
    });
  }

  // --- sending ------------------------------------------------------------------------------------
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function queue(frame, label) {
    const clientId = newClientId();
    frame.client_id = clientId;
    const li = document.createElement("li");
    li.className = "msg mine pending";
    li.dataset.clientId = clientId;
    const head = document.createElement("div");
    head.className = "msg-head";
    head.textContent = ready ? gettext("Sending…") : gettext("Waiting for connection…");
    const body = document.createElement("div");
    body.className = "msg-body"; body.textContent = label;
    li.append(head, body);
    el.list.appendChild(li);
    scrollToBottom();
    updateJump();
    outbox.push({ clientId: clientId, frame: frame, li: li });
    if (ready && socket) socket.send(frame);
  }

  function forgetOutbox(clientId) {
    const i = outbox.findIndex(function (o) { return o.clientId === clientId; });
    if (i >= 0) { const o = outbox[i]; outbox.splice(i, 1); if (o.li.isConnected) o.li.remove(); }
  }

  function flushOutbox() {
    outbox.forEach(function (o) {
      o.li.querySelector(".msg-head").textContent = gettext("Sending…");
      socket.send(o.frame);
    });
  }

  if (el.composer) {
    el.composer.addEventListener("submit", function (ev) {
      ev.preventDefault();
      const text = el.text.value.trim();
      if (!text) return;
      if (new TextEncoder().encode(text).length > 10240) { el.hint.textContent = gettext("Messages are limited to 10 KB."); return; }
      el.hint.textContent = "";
      const frame = { type: "message", content: text, message_type: "text" };
      if (replyTo) frame.metadata = { reply_to: replyTo };
      if (hasNewer) loadLatest();  // sending brings the reader back to the newest messages
      queue(frame, text);
      clearReply();
      el.text.value = "";
      hideMentions();
    });
    el.text.addEventListener("keydown", function (ev) {
      if (!el.mentions.hidden && handleMentionKey(ev)) return;
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); el.composer.requestSubmit(); }
    });
    let lastTyping = 0;
    el.text.addEventListener("input", function () {
      updateMentions();
      const now = Date.now();
      if (el.text.value && now - lastTyping > 1500 && ready && socket) { lastTyping = now; socket.send({ type: "typing" }); }
    });
  }

  // --- replies: a quoted reference kept in the message metadata ---------------------------------
  function startReply(data) {
    if (!el.reply) return;
    const text = data.message_type === "text" ? data.content : (data.metadata && data.metadata.file && data.metadata.file.name) || "";
    replyTo = { id: data.id, seq: data.seq, author: data.sender ? data.sender.display_name : "", excerpt: text.replace(/\s+/g, " ").slice(0, 80) };
    el.reply.querySelector(".reply-text").textContent = fmt(gettext("Replying to %s"), [replyTo.author]) + ": " + replyTo.excerpt;
    el.reply.hidden = false;
    el.text.focus();
  }
  function clearReply() {
    replyTo = null;
    if (el.reply) el.reply.hidden = true;
  }
  if (el.reply) el.reply.querySelector("button").addEventListener("click", function () { clearReply(); el.text.focus(); });

  // --- mentions autocomplete ------------------------------------------------------------------------
  let mentionIndex = 0;
  function mentionQuery() {
    const upto = el.text.value.slice(0, el.text.selectionStart);
    const m = /(^|\s)@([\w.+-]*)$/.exec(upto);
    return m ? m[2] : null;
  }
  function updateMentions() {
    const q = mentionQuery();
    if (q === null) { hideMentions(); return; }
    const found = members.filter(function (m) {
      const u = m.user;
      return u.id !== me && (u.username.toLowerCase().startsWith(q.toLowerCase()) || u.display_name.toLowerCase().startsWith(q.toLowerCase()));
    }).slice(0, 8);
    if (!found.length) { hideMentions(); return; }
    el.mentions.textContent = "";
    mentionIndex = 0;
    found.forEach(function (m, i) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.username = m.user.username;
      li.textContent = m.user.display_name + " (@" + m.user.username + ")";
      li.setAttribute("aria-selected", i === 0 ? "true" : "false");
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); insertMention(m.user.username); });
      el.mentions.appendChild(li);
    });
    el.mentions.hidden = false;
  }
  function hideMentions() { if (el.mentions) { el.mentions.hidden = true; el.mentions.textContent = ""; } }
  function handleMentionKey(ev) {
    const items = el.mentions.children;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      items[mentionIndex].setAttribute("aria-selected", "false");
      mentionIndex = (mentionIndex + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items[mentionIndex].setAttribute("aria-selected", "true");
      return true;
    }
    if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); insertMention(items[mentionIndex].dataset.username); return true; }
    if (ev.key === "Escape") { hideMentions(); return true; }
    return false;
  }
  function insertMention(username) {
    const pos = el.text.selectionStart;
    const before = el.text.value.slice(0, pos).replace(/@([\w.+-]*)$/, "@" + username + " ");
    el.text.value = before + el.text.value.slice(pos);
    el.text.selectionStart = el.text.selectionEnd = before.length;
    hideMentions();
    el.text.focus();
  }

  // --- typing line ----------------------------------------------------------------------------------
  const typers = new Map(); // user id -> {name, timer}
  function showTyping() {
    const names = Array.from(typers.values()).map(function (x) { return x.name; });
    if (!names.length) el.typing.textContent = "";
    else if (names.length === 1) el.typing.textContent = fmt(gettext("%s is typing…"), [names[0]]);
    else el.typing.textContent = fmt(gettext("%s are typing…"), [names.join(", ")]);
  }
  function onTyping(data) {
    const u = data.user;
    if (!u || u.id === me) return;
    const old = typers.get(u.id);
    if (old) clearTimeout(old.timer);
    if (!data.typing) { typers.delete(u.id); showTyping(); return; }
    // Expire on our own too, in case the "stopped" frame never comes.
    const timer = setTimeout(function () { typers.delete(u.id); showTyping(); }, (data.expires_in || 3) * 1000);
    typers.set(u.id, { name: u.display_name, timer: timer });
    showTyping();
  }

  // --- reactions, edits, deletes -----------------------------------------------------------------------
  async function toggleReaction(messageId, emoji, mine) {
    const url = "/api/messages/" + messageId + "/reactions/";
    const res = mine ? await api("DELETE", url + encodeURIComponent(emoji) + "/") : await api("POST", url, { emoji: emoji });
    if (!res.ok && res.status !== 404) alert((res.data && res.data.error && res.data.error.message) || gettext("That did not work."));
  }

  function onReaction(data) {
    const li = bySeq.get(data.seq);
    if (!li || !li._data) return;
    li._data.reactions = data.reactions;
    renderReactions(li, li._data);  // the tools float above, so their place (and focus) stays
  }

  function startEdit(li) {
    const data = li._data;
    const body = li.querySelector(".msg-body");
    const form = document.createElement("form");
    form.className = "edit-form";
    const area = document.createElement("textarea");
    area.value = data.content; area.maxLength = 10240; area.setAttribute("aria-label", gettext("Edit message"));
    const save = document.createElement("button");
    save.type = "submit"; save.className = "primary"; save.textContent = gettext("Save");
    const cancel = button(gettext("Cancel"), "", function () { form.replaceWith(body); });
    form.append(area, save, cancel);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const res = await api("PATCH", "/api/messages/" + data.id + "/", { content: area.value, version: Number(li.dataset.version) });
      if (res.ok) { replace(res.data); return; }
      alert((res.data && res.data.error && res.data.error.message) || gettext("That did not work."));
      if (res.status === 409 && res.data.error.details.current) replace(res.data.error.details.current);
    });
    body.replaceWith(form);
    area.focus();
  }

  async function removeMessage(li) {
    if (!confirm(gettext("Delete this message?"))) return;
    const res = await api("DELETE", "/api/messages/" + li.dataset.id + "/");
    if (!res.ok && res.status !== 404) alert((res.data && res.data.error && res.data.error.message) || gettext("That did not work."));
  }

  async function showHistory(messageId) {
    const res = await api("GET", "/api/messages/" + messageId + "/history/");
    if (!res.ok) return;
    el.historyList.textContent = "";
    res.data.forEach(function (h) {
      const item = document.createElement("li");
      const when = document.createElement("div");
      when.className = "msg-head";
      when.textContent = rooms.formatWhen(h.edited_at, true) + (h.edited_by ? " · " + h.edited_by.display_name : "");
      const body = document.createElement("div");
      body.className = "msg-body"; body.innerHTML = h.html; // rendered and allowlisted server-side
      item.append(when, body);
      el.historyList.appendChild(item);
    });
    if (el.history.showModal) el.history.showModal(); else el.history.setAttribute("open", "");
  }

  // --- uploads (drag and drop or the paperclip) -----------------------------------------------------
  function pickFile(file) {
    if (!file || !canWrite) return;
    el.preview.textContent = "";
    if (file.type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(file); img.alt = file.name;
      el.preview.appendChild(img);
    }
    const name = document.createElement("span");
    name.textContent = file.name;
    el.preview.append(name, button(gettext("Send file"), "primary", function () { upload(file); }), button(gettext("Cancel"), "", clearPreview));
    el.preview.hidden = false;
  }
  function clearPreview() { el.preview.hidden = true; el.preview.textContent = ""; if (el.file) el.file.value = ""; }
  async function upload(file) {
    const form = new FormData();
    form.append("file", file);
    el.hint.textContent = gettext("Uploading…");
    const res = await api("POST", "/api/rooms/" + roomId + "/files/", form);
    if (!res.ok) { el.hint.textContent = (res.data && res.data.error && res.data.error.message) || gettext("Upload failed."); return; }
    el.hint.textContent = "";
    clearPreview();
    const kind = res.data.is_image ? "image_ref" : "file_ref";
    queue({ type: "message", content: res.data.name, message_type: kind, metadata: { file_id: res.data.id } }, res.data.name);
  }
  if (el.file) el.file.addEventListener("change", function () { pickFile(el.file.files[0]); });
  if (canWrite) {
    ["dragenter", "dragover"].forEach(function (n) { el.stream.addEventListener(n, function (ev) { ev.preventDefault(); el.stream.classList.add("drag-over"); }); });
    ["dragleave", "drop"].forEach(function (n) { el.stream.addEventListener(n, function () { el.stream.classList.remove("drag-over"); }); });
    el.stream.addEventListener("drop", function (ev) { ev.preventDefault(); pickFile(ev.dataTransfer.files[0]); });
  }

  // --- members, presence, settings ------------------------------------------------------------------
  // Presence frames name only who came or went; the list itself comes from GET /online/
  // (at start and after every reconnect) and is kept here.
  let onlineUsers = [];
  function onPresence(data) {
    if (!data || !data.user) return;
    const others = onlineUsers.filter(function (u) { return u.id !== data.user.id; });
    renderOnline(data.online ? others.concat([data.user]) : others);
  }
  async function loadOnline() {
    const online = await api("GET", "/api/rooms/" + roomId + "/online/");
    if (online.ok) renderOnline(online.data.users);
  }

  function renderOnline(users) {
    onlineUsers = users.slice().sort(function (a, b) { return String(a.display_name).localeCompare(String(b.display_name)); });
    users = onlineUsers;
    el.online.textContent = "";
    users.forEach(function (u) {
      const li = document.createElement("li");
      li.dataset.userId = u.id;
      const dot = document.createElement("span"); dot.className = "dot"; dot.setAttribute("aria-hidden", "true");
      const name = document.createElement("span"); name.textContent = u.display_name;
      li.append(dot, name);
      el.online.appendChild(li);
    });
  }

  // Role names in the page language, from the options the server rendered.
  function roleLabel(value) {
    const option = document.getElementById("role-options").content.querySelector('option[value="' + CSS.escape(value) + '"]');
    return option ? option.textContent : value;
  }

  async function loadMembers() {
    const res = await api("GET", "/api/rooms/" + roomId + "/members/");
    if (!res.ok) return;
    members = res.data;
    el.members.textContent = "";
    members.forEach(function (m) {
      const li = document.createElement("li");
      const name = document.createElement("span"); name.textContent = m.user.display_name + " (@" + m.user.username + ")";
      li.appendChild(name);
      if (isOwner) {
        const sel = document.createElement("select");
        sel.setAttribute("aria-label", fmt(gettext("Role of %s"), [m.user.username]));
        sel.innerHTML = document.getElementById("role-options").innerHTML;
        sel.value = m.role;
        sel.addEventListener("change", async function () {
          const res2 = await api("PATCH", "/api/rooms/" + roomId + "/members/" + m.id + "/", { role: sel.value, version: m.version });
          if (!res2.ok) { alert(res2.data.error.message); }
          loadMembers();
        });
        li.append(sel, button(gettext("Remove"), "", async function () {
          if (!confirm(fmt(gettext("Remove %s from this room?"), [m.user.display_name]))) return;
          const res3 = await api("DELETE", "/api/rooms/" + roomId + "/members/" + m.id + "/");
          if (!res3.ok) alert(res3.data.error.message);
          loadMembers();
        }));
      } else {
        const role = document.createElement("span"); role.className = "pill"; role.textContent = roleLabel(m.role);
        li.appendChild(role);
      }
      el.members.appendChild(li);
    });
  }

  const addForm = document.getElementById("member-add");
  if (addForm) {
    addForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const res = await api("POST", "/api/rooms/" + roomId + "/members/", {
        username: document.getElementById("member-username").value.trim(), role: document.getElementById("member-role").value,
      });
      if (!res.ok) { alert(res.data.error.message); return; }
      document.getElementById("member-username").value = "";
      loadMembers();
    });
  }
  const statusForm = document.getElementById("status-form");
  if (statusForm) {
    statusForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const res = await api("PATCH", "/api/rooms/" + roomId + "/", { status: document.getElementById("room-status").value, version: roomVersion });
      if (res.ok) { location.reload(); return; }
      alert(res.data.error.message);
      if (res.status === 409) roomVersion = res.data.error.details.current_version;
    });
  }
  if (el.toggleSide) {
    el.toggleSide.addEventListener("click", function () {
      const open = el.side.classList.toggle("open");
      el.toggleSide.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // --- the socket -----------------------------------------------------------------------------------
  function setLive(state) {
    if (!el.status) return;
    const live = state === "live" && ready;
    el.status.className = "status-pill " + (live ? "status-live" : "status-offline");
    el.status.textContent = live ? gettext("Live") : gettext("Offline");
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "ready":
        ready = true;
        rereadAfterResume = connectedBefore;
        connectedBefore = true;
        setLive("live");
        loadOnline(); // who came and went while this socket was away
        socket.send({ type: "resume", last_seq: lastSeq });
        flushOutbox();
        break;
      case "resumed":
        if (rereadAfterResume) { rereadAfterResume = false; refreshShown(); }
        break;
      case "message": accept(frame.data); break;
      case "ack": {
        const o = outbox.find(function (x) { return x.clientId === frame.client_id; });
        if (o) o.li.querySelector(".msg-head").textContent = gettext("Sent");
        break;
      }
      case "error": {
        const d = frame.data || {};
        if (frame.client_id) {
          const o = outbox.find(function (x) { return x.clientId === frame.client_id; });
          if (o) {
            o.li.classList.remove("pending"); o.li.classList.add("failed");
            o.li.querySelector(".msg-head").textContent = fmt(gettext("Not sent: %s"), [d.message || d.code]);
            outbox.splice(outbox.indexOf(o), 1);
          }
        }
        break;
      }
      case "message_edited": replace(frame.data); break;
      case "message_deleted": {
        const li = bySeq.get(frame.seq);
        if (li) { li.remove(); bySeq.delete(frame.seq); }
        break;
      }
      case "reaction_added": case "reaction_removed": onReaction(frame.data); break;
      case "typing": onTyping(frame.data); break;
      case "presence": onPresence(frame.data); break;
      case "member_added": case "member_updated": case "member_removed": loadMembers(); break;
      case "room_updated": roomVersion = frame.data.version; break;
      default: break;
    }
  }

  async function openAtStart() {
    const seq = hashSeq();
    if (seq && (await loadAround(seq))) { await jumpTo(seq); return; }
    await loadLatest();
  }

  async function start() {
    await Promise.all([openAtStart(), loadMembers()]);
    await loadOnline();
    socket = liveSocket("/ws/rooms/" + roomId + "/", {
      onFrame: onFrame,
      onStatus: function (state) { if (state !== "live") ready = false; setLive(state); },
    });
  }
  // A small handle for support staff and the browser tests (drop the socket, read state).
  window.contorlRoom = {
    drop: function () { if (socket && socket.socket) socket.socket.close(); },
    // Stay away (no reconnect) until goOnline(): what a long network outage looks like.
    goOffline: function () { if (socket) socket.close(); },
    goOnline: function () { if (socket) socket.reopen(); },
    get lastSeq() { return lastSeq; },
    get queued() { return outbox.length; },
    get refreshes() { return refreshes; },
    get atBottom() { return atBottom; },
    get unread() { return unread; },
  };
  start();
})();
