// Incident room page: ordered message stream over /ws/rooms/{id}/ with resume, an offline
// queue, typing, presence, reactions, edits, uploads and room settings. This module owns the
// socket and hands each frame to the part that shows it:
//   list.js      the stream (order, history, unread)    message.js  one message
//   composer.js  writing, replies, mentions, uploads     actions.js  react, edit, delete
//   presence.js  typing, online, members, settings       picker.js   the emoji picker
import { gettext } from "../../js/core/i18n.js";
import { liveSocket } from "../../js/core/live.js";
import { runSearch } from "../search.js";
import { onReaction } from "./actions.js";
import { flushOutbox, onAck, onSendError, outbox } from "./composer.js";
import { connection, room, ui } from "./context.js";
import {
  accept, atBottom, hashSeq, jumpTo, lastSeq, loadAround, loadLatest, refreshShown, refreshes, removeShown, replace, unread,
} from "./list.js";
import { loadMembers, loadOnline, onPresence, onTyping } from "./presence.js";

// Set by every ready after the first: the resume it asks for must be followed by a reread.
// (Keyed to ready, not to resumed, so going away before the first resumed arrives still counts.)
let connectedBefore = false;
let rereadAfterResume = false;

// --- search in this room -----------------------------------------------------------------------
if (ui.searchToggle) {
  ui.searchToggle.addEventListener("click", function () {
    const open = ui.search.hidden;
    ui.search.hidden = !open;
    ui.searchToggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) ui.searchQ.focus();
  });
  ui.searchForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const q = ui.searchQ.value.trim();
    if (!q) return;
    runSearch("/api/rooms/" + room.id + "/messages/search/", q, ui.searchResults, ui.searchStatus, {
      onOpen: function (d) { history.replaceState(null, "", "#seq-" + d.seq); jumpTo(d.seq); },
    });
  });
  ui.search.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { ui.search.hidden = true; ui.searchToggle.setAttribute("aria-expanded", "false"); ui.searchToggle.focus(); }
  });
}

// --- the socket -----------------------------------------------------------------------------------
function setLive(state) {
  if (!ui.status) return;
  const live = state === "live" && connection.ready;
  ui.status.className = "status-pill " + (live ? "status-live" : "status-offline");
  ui.status.textContent = live ? gettext("Live") : gettext("Offline");
}

function onFrame(frame) {
  switch (frame.type) {
    case "ready":
      connection.ready = true;
      rereadAfterResume = connectedBefore;
      connectedBefore = true;
      setLive("live");
      loadOnline(); // who came and went while this socket was away
      connection.socket.send({ type: "resume", last_seq: lastSeq });
      flushOutbox();
      break;
    case "resumed":
      if (rereadAfterResume) { rereadAfterResume = false; refreshShown(); }
      break;
    case "message": accept(frame.data); break;
    case "ack": onAck(frame); break;
    case "error": onSendError(frame); break;
    case "message_edited": replace(frame.data); break;
    case "message_deleted": removeShown(frame.seq); break;
    case "reaction_added": case "reaction_removed": onReaction(frame.data); break;
    case "typing": onTyping(frame.data); break;
    case "presence": onPresence(frame.data); break;
    case "member_added": case "member_updated": case "member_removed": loadMembers(); break;
    case "room_updated": room.version = frame.data.version; break;
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
  connection.socket = liveSocket("/ws/rooms/" + room.id + "/", {
    onFrame: onFrame,
    onStatus: function (state) { if (state !== "live") connection.ready = false; setLive(state); },
  });
}
// A small handle for support staff and the browser tests (drop the socket, read state).
window.contorlRoom = {
  drop: function () { if (connection.socket && connection.socket.socket) connection.socket.socket.close(); },
  // Stay away (no reconnect) until goOnline(): what a long network outage looks like.
  goOffline: function () { if (connection.socket) connection.socket.close(); },
  goOnline: function () { if (connection.socket) connection.socket.reopen(); },
  get lastSeq() { return lastSeq; },
  get queued() { return outbox.length; },
  get refreshes() { return refreshes; },
  get atBottom() { return atBottom; },
  get unread() { return unread; },
};
start();
