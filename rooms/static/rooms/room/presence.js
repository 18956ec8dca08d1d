// Who is here: the typing line, the online list, members (owners manage roles) and the
// room settings in the side panel.
import { api } from "../../js/core/api.js";
import { newestOnly } from "../../js/core/newest.js";
import { gettext, interpolate } from "../../js/core/i18n.js";
import { room, ui } from "./context.js";
import { button } from "./message.js";

export let members = [];  // the room's members, for @mention suggestions

// --- typing line ----------------------------------------------------------------------------------
const typers = new Map(); // user id -> {name, timer}
function showTyping() {
  const names = Array.from(typers.values()).map(function (x) { return x.name; });
  if (!names.length) ui.typing.textContent = "";
  else if (names.length === 1) ui.typing.textContent = interpolate(gettext("%s is typing…"), [names[0]]);
  else ui.typing.textContent = interpolate(gettext("%s are typing…"), [names.join(", ")]);
}
export function onTyping(data) {
  const u = data.user;
  if (!u || u.id === room.me) return;
  const old = typers.get(u.id);
  if (old) clearTimeout(old.timer);
  if (!data.typing) { typers.delete(u.id); showTyping(); return; }
  // Expire on our own too, in case the "stopped" frame never comes.
  const timer = setTimeout(function () { typers.delete(u.id); showTyping(); }, (data.expires_in || 3) * 1000);
  typers.set(u.id, { name: u.display_name, timer: timer });
  showTyping();
}

// --- members, presence, settings ------------------------------------------------------------------
// Presence frames name only who came or went (one user, or several who came or went
// together); the list itself comes from GET /online/ (at start and after every reconnect)
// and is kept here.
let onlineUsers = [];
export function onPresence(data) {
  const changed = data && (data.users || (data.user ? [data.user] : []));
  if (!changed || !changed.length) return;
  const ids = new Set(changed.map(function (u) { return u.id; }));
  const others = onlineUsers.filter(function (u) { return !ids.has(u.id); });
  renderOnline(data.online ? others.concat(changed) : others);
}
const onlineTicket = newestOnly();
export async function loadOnline() {
  const isNewest = onlineTicket();
  const online = await api("GET", "/api/rooms/" + room.id + "/online/");
  if (!isNewest()) return;
  if (online.ok) renderOnline(online.data.users);
}

function renderOnline(users) {
  onlineUsers = users.slice().sort(function (a, b) { return String(a.display_name).localeCompare(String(b.display_name)); });
  users = onlineUsers;
  ui.online.textContent = "";
  users.forEach(function (u) {
    const li = document.createElement("li");
    li.dataset.userId = u.id;
    const dot = document.createElement("span"); dot.className = "dot"; dot.setAttribute("aria-hidden", "true");
    const name = document.createElement("span"); name.textContent = u.display_name;
    li.append(dot, name);
    ui.online.appendChild(li);
  });
}

// Role names in the page language, from the options the server rendered.
function roleLabel(value) {
  const option = document.getElementById("role-options").content.querySelector('option[value="' + CSS.escape(value) + '"]');
  return option ? option.textContent : value;
}

const membersTicket = newestOnly();
export async function loadMembers() {
  const isNewest = membersTicket();
  const res = await api("GET", "/api/rooms/" + room.id + "/members/");
  if (!isNewest()) return;
  if (!res.ok) return;
  members = res.data;
  ui.members.textContent = "";
  members.forEach(function (m) {
    const li = document.createElement("li");
    const name = document.createElement("span"); name.textContent = m.user.display_name + " (@" + m.user.username + ")";
    li.appendChild(name);
    if (room.isOwner) {
      const sel = document.createElement("select");
      sel.setAttribute("aria-label", interpolate(gettext("Role of %s"), [m.user.username]));
      sel.innerHTML = document.getElementById("role-options").innerHTML;
      sel.value = m.role;
      sel.addEventListener("change", async function () {
        const res2 = await api("PATCH", "/api/rooms/" + room.id + "/members/" + m.id + "/", { role: sel.value, version: m.version });
        if (!res2.ok) { alert(res2.data.error.message); }
        loadMembers();
      });
      li.append(sel, button(gettext("Remove"), "", async function () {
        if (!confirm(interpolate(gettext("Remove %s from this room?"), [m.user.display_name]))) return;
        const res3 = await api("DELETE", "/api/rooms/" + room.id + "/members/" + m.id + "/");
        if (!res3.ok) alert(res3.data.error.message);
        loadMembers();
      }));
    } else {
      const role = document.createElement("span"); role.className = "pill"; role.textContent = roleLabel(m.role);
      li.appendChild(role);
    }
    ui.members.appendChild(li);
  });
}

const addForm = document.getElementById("member-add");
if (addForm) {
  addForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const res = await api("POST", "/api/rooms/" + room.id + "/members/", {
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
    const res = await api("PATCH", "/api/rooms/" + room.id + "/", { status: document.getElementById("room-status").value, version: room.version });
    if (res.ok) { location.reload(); return; }
    alert(res.data.error.message);
    if (res.status === 409) room.version = res.data.error.details.current_version;
  });
}
if (ui.toggleSide) {
  ui.toggleSide.addEventListener("click", function () {
    const open = ui.side.classList.toggle("open");
    ui.toggleSide.setAttribute("aria-expanded", open ? "true" : "false");
  });
}
