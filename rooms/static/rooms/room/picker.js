// The emoji picker of a message: categorized, arrow keys move, Enter picks, Escape closes.
import { gettext, interpolate } from "../../js/core/i18n.js";
import { toggleReaction } from "./actions.js";
import { room, ui } from "./context.js";
import { button } from "./message.js";

// Reactions people use on a shop floor first, then the usual faces and symbols (about 70).
const EMOJI_SETS = [
  [gettext("Frequent"), "👍 ✅ 👀 ❗ 🙏 👎 ❌ ⚠️ 🔥 🎉"],
  [gettext("Status"), "🟢 🟡 🔴 ⏳ ⏸️ ▶️ 🛑 🔧 🛠️ 🔩 ⚙️ 🧯 🚧 🔌 🔋 💡"],
  [gettext("Faces"), "😀 😄 😅 😂 🙂 😉 😍 🤔 😐 😕 😟 😢 😮 😱 😡 🤯 😴 🥳"],
  [gettext("Hands"), "👏 🙌 👋 🤝 ✋ 👌 ✌️ 🤞 💪 👉 ☝️ 🫡"],
  [gettext("Symbols"), "❤️ 💯 ❓ ⭐ 💥 ⚡ 📌 📎 📝 📣 🔔 🔒 📷 📦 🚚 🏭"],
];
const PICKER_COLUMNS = 8;

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
export function togglePicker(li, data, opener) {
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
      grid.appendChild(button(e, "", function () { closePicker(true); toggleReaction(data.id, e, hasMine(li, e)); }, interpolate(gettext("React with %s"), [e])));
    });
    picker.append(title, grid);
  });
  picker.addEventListener("keydown", function (ev) { pickerKey(ev, picker); });
  const below = ui.stream.getBoundingClientRect().bottom - li.getBoundingClientRect().bottom;
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
  return ((li._data && li._data.reactions) || []).some(function (r) { return r.emoji === emoji && r.users.indexOf(room.me) >= 0; });
}
