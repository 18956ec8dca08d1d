// What every part of the room page shares: the room as the server rendered it, its limits,
// the page's elements and the one live connection. No imports: every other module reads it.
const root = document.getElementById("room");

export const room = {
  id: Number(root.dataset.roomId),
  me: Number(document.body.dataset.userId),
  canWrite: root.dataset.canWrite === "1",
  isOwner: root.dataset.isOwner === "1",
  version: Number(root.dataset.version),  // follows room_updated frames
};

function jsonScript(id, fallback) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : fallback;
}

// The server's rules, rendered into the page (rooms/views.py), so they are stated once.
const serverLimits = jsonScript("room-limits", {});
export const limits = {
  editWindowMs: serverLimits.edit_window_seconds * 1000,  // a chat message stays editable this long
  textMaxBytes: serverLimits.text_max_bytes,              // UTF-8 bytes of one chat message
};

export const statusLabels = jsonScript("room-status-labels", {});

// The room socket (contorl liveSocket) and whether the server said "ready" on it.
export const connection = { socket: null, ready: false };

export const ui = {
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
