// Writing: the composer (Enter sends, Shift+Enter breaks the line), replies, @mentions,
// uploads, and the outbox. Messages typed while offline wait in `outbox` (each with a
// client_id) and go out once, in order, when the socket is back; the server stores a repeated
// client_id only once, so re-sending an unacknowledged one is safe.
import { api, errorMessage } from "../../js/core/api.js";
import { gettext, interpolate } from "../../js/core/i18n.js";
import { connection, limits, room, ui } from "./context.js";
import { hasNewer, loadLatest, scrollToBottom, updateJump } from "./list.js";
import { button } from "./message.js";
import { members } from "./presence.js";

export const outbox = [];               // [{clientId, frame, li}] until acked
let replyTo = null;

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
  head.textContent = connection.ready ? gettext("Sending…") : gettext("Waiting for connection…");
  const body = document.createElement("div");
  body.className = "msg-body"; body.textContent = label;
  li.append(head, body);
  ui.list.appendChild(li);
  scrollToBottom();
  updateJump();
  outbox.push({ clientId: clientId, frame: frame, li: li });
  if (connection.ready && connection.socket) connection.socket.send(frame);
}

export function forgetOutbox(clientId) {
  const i = outbox.findIndex(function (o) { return o.clientId === clientId; });
  if (i >= 0) { const o = outbox[i]; outbox.splice(i, 1); if (o.li.isConnected) o.li.remove(); }
}

// The server stored a queued message (its "message" frame follows and replaces the bubble).
export function onAck(frame) {
  const o = outbox.find(function (x) { return x.clientId === frame.client_id; });
  if (o) o.li.querySelector(".msg-head").textContent = gettext("Sent");
}

// The server refused a queued message: its bubble stays, marked, and leaves the outbox.
export function onSendError(frame) {
  if (!frame.client_id) return;
  const d = frame.data || {};
  const o = outbox.find(function (x) { return x.clientId === frame.client_id; });
  if (!o) return;
  o.li.classList.remove("pending"); o.li.classList.add("failed");
  o.li.querySelector(".msg-head").textContent = interpolate(gettext("Not sent: %s"), [d.message || d.code]);
  outbox.splice(outbox.indexOf(o), 1);
}

export function flushOutbox() {
  outbox.forEach(function (o) {
    o.li.querySelector(".msg-head").textContent = gettext("Sending…");
    connection.socket.send(o.frame);
  });
}

if (ui.composer) {
  ui.composer.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = ui.text.value.trim();
    if (!text) return;
    if (new TextEncoder().encode(text).length > limits.textMaxBytes) { ui.hint.textContent = gettext("Messages are limited to 10 KB."); return; }
    ui.hint.textContent = "";
    const frame = { type: "message", content: text, message_type: "text" };
    if (replyTo) frame.metadata = { reply_to: replyTo };
    if (hasNewer) loadLatest();  // sending brings the reader back to the newest messages
    queue(frame, text);
    clearReply();
    ui.text.value = "";
    hideMentions();
  });
  ui.text.addEventListener("keydown", function (ev) {
    if (!ui.mentions.hidden && handleMentionKey(ev)) return;
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); ui.composer.requestSubmit(); }
  });
  let lastTyping = 0;
  ui.text.addEventListener("input", function () {
    updateMentions();
    const now = Date.now();
    if (ui.text.value && now - lastTyping > 1500 && connection.ready && connection.socket) { lastTyping = now; connection.socket.send({ type: "typing" }); }
  });
}

// --- replies: a quoted reference kept in the message metadata ---------------------------------
export function startReply(data) {
  if (!ui.reply) return;
  const text = data.message_type === "text" ? data.content : (data.metadata && data.metadata.file && data.metadata.file.name) || "";
  replyTo = { id: data.id, seq: data.seq, author: data.sender ? data.sender.display_name : "", excerpt: text.replace(/\s+/g, " ").slice(0, 80) };
  ui.reply.querySelector(".reply-text").textContent = interpolate(gettext("Replying to %s"), [replyTo.author]) + ": " + replyTo.excerpt;
  ui.reply.hidden = false;
  ui.text.focus();
}
function clearReply() {
  replyTo = null;
  if (ui.reply) ui.reply.hidden = true;
}
if (ui.reply) ui.reply.querySelector("button").addEventListener("click", function () { clearReply(); ui.text.focus(); });

// --- mentions autocomplete ------------------------------------------------------------------------
let mentionIndex = 0;
function mentionQuery() {
  const upto = ui.text.value.slice(0, ui.text.selectionStart);
  const m = /(^|\s)@([\w.+-]*)$/.exec(upto);
  return m ? m[2] : null;
}
function updateMentions() {
  const q = mentionQuery();
  if (q === null) { hideMentions(); return; }
  const found = members.filter(function (m) {
    const u = m.user;
    return u.id !== room.me && (u.username.toLowerCase().startsWith(q.toLowerCase()) || u.display_name.toLowerCase().startsWith(q.toLowerCase()));
  }).slice(0, 8);
  if (!found.length) { hideMentions(); return; }
  ui.mentions.textContent = "";
  mentionIndex = 0;
  found.forEach(function (m, i) {
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.dataset.username = m.user.username;
    li.textContent = m.user.display_name + " (@" + m.user.username + ")";
    li.setAttribute("aria-selected", i === 0 ? "true" : "false");
    li.addEventListener("mousedown", function (ev) { ev.preventDefault(); insertMention(m.user.username); });
    ui.mentions.appendChild(li);
  });
  ui.mentions.hidden = false;
}
function hideMentions() { if (ui.mentions) { ui.mentions.hidden = true; ui.mentions.textContent = ""; } }
function handleMentionKey(ev) {
  const items = ui.mentions.children;
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
  const pos = ui.text.selectionStart;
  const before = ui.text.value.slice(0, pos).replace(/@([\w.+-]*)$/, "@" + username + " ");
  ui.text.value = before + ui.text.value.slice(pos);
  ui.text.selectionStart = ui.text.selectionEnd = before.length;
  hideMentions();
  ui.text.focus();
}

// --- uploads (drag and drop or the paperclip) -----------------------------------------------------
function pickFile(file) {
  if (!file || !room.canWrite) return;
  ui.preview.textContent = "";
  if (file.type.startsWith("image/")) {
    const img = document.createElement("img");
    img.src = URL.createObjectURL(file); img.alt = file.name;
    ui.preview.appendChild(img);
  }
  const name = document.createElement("span");
  name.textContent = file.name;
  ui.preview.append(name, button(gettext("Send file"), "primary", function () { upload(file); }), button(gettext("Cancel"), "", clearPreview));
  ui.preview.hidden = false;
}
function clearPreview() { ui.preview.hidden = true; ui.preview.textContent = ""; if (ui.file) ui.file.value = ""; }
async function upload(file) {
  const form = new FormData();
  form.append("file", file);
  ui.hint.textContent = gettext("Uploading…");
  const res = await api("POST", "/api/rooms/" + room.id + "/files/", form);
  if (!res.ok) { ui.hint.textContent = errorMessage(res, gettext("Upload failed.")); return; }
  ui.hint.textContent = "";
  clearPreview();
  const kind = res.data.is_image ? "image_ref" : "file_ref";
  queue({ type: "message", content: res.data.name, message_type: kind, metadata: { file_id: res.data.id } }, res.data.name);
}
if (ui.file) ui.file.addEventListener("change", function () { pickFile(ui.file.files[0]); });
if (room.canWrite) {
  ["dragenter", "dragover"].forEach(function (n) { ui.stream.addEventListener(n, function (ev) { ev.preventDefault(); ui.stream.classList.add("drag-over"); }); });
  ["dragleave", "drop"].forEach(function (n) { ui.stream.addEventListener(n, function () { ui.stream.classList.remove("drag-over"); }); });
  ui.stream.addEventListener("drop", function (ev) { ev.preventDefault(); pickFile(ev.dataTransfer.files[0]); });
}
