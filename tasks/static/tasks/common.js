// Shared helpers of the project/task pages: messages, the conflict dialog, the project live
// socket (Live/Offline pill, catch-up, de-dup by event_id across tabs). Page scripts import
// this module; the generic helpers it re-exports live in static/js/core/.
import { api } from "../js/core/api.js";
import { formatDate, formatDateTime } from "../js/core/dates.js";
import { el, pageData } from "../js/core/dom.js";
import { gettext, interpolate } from "../js/core/i18n.js";
import { liveSocket } from "../js/core/live.js";
import { newestOnly } from "../js/core/newest.js";
import { toast } from "../js/core/toast.js";

export { el, formatDate, formatDateTime, gettext, interpolate, newestOnly, pageData, toast };

// A failed request as one sentence for people: field names become their labels
// ("Due date: ..." not "due_date: ..."), and the offline case says so plainly.
export function errorText(res) {
  const err = res && res.data && res.data.error;
  if (!err) return gettext("The request failed.") + (res && res.status ? " (" + res.status + ")" : "");
  const details = err.details || {};
  const fields = Object.keys(details).filter(function (k) { return Array.isArray(details[k]); });
  if (err.code === "validation_error" && fields.length) {
    return fields.map(function (k) {
      const text = details[k].join(" ");
      return k === "non_field_errors" || k === "detail" ? text : fieldLabel(k) + ": " + text;
    }).join("; ");
  }
  return err.message || err.code;
}

export const PRIORITY = function () {
  return [gettext("None"), gettext("Low"), gettext("Normal"), gettext("High"), gettext("Urgent")];
};

export function todayISO() {
  const d = new Date();
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

export function isOverdue(task, statusesById) {
  const st = statusesById && statusesById[task.status];
  return !!task.due_date && task.due_date < todayISO() && !(st && st.is_done);
}

function memberName(id, ctx) {
  const m = ctx && ctx.members && ctx.members.find(function (x) { return x.id === id; });
  if (m) return m.display_name;
  const u = ctx && ctx.users && ctx.users[id];
  return u ? u.display_name : gettext("a former member");
}

// Human value of one task field, for the conflict dialog and the history timeline.
export function fieldValue(field, value, ctx) {
  ctx = ctx || {};
  if (value === null || value === undefined || value === "") return "—";
  if (field === "status" && ctx.statuses) {
    const s = ctx.statuses.find(function (x) { return x.id === value; });
    return s ? s.name : gettext("a removed status");
  }
  if (field === "assignee" || field === "deleted_by" || field === "created_by") return memberName(value, ctx);
  if (field === "priority") return PRIORITY()[value] || String(value);
  if (field === "start_date" || field === "due_date") return formatDate(value);
  if (field === "deleted_at" || field === "created_at") return formatDateTime(value);
  if (field === "is_deleted" || typeof value === "boolean") return value ? gettext("Yes") : gettext("No");
  if (field === "parent") return "#" + value + (ctx.titles && ctx.titles[value] ? " " + ctx.titles[value] : "");
  if (field === "description") { const text = String(value); return text.length > 80 ? text.slice(0, 80) + "…" : text; }
  if (typeof value === "object") return customFieldsText(value, ctx);
  return String(value);
}

// One custom field's value by its type (a user field holds a user id).
function customValue(key, value, ctx) {
  if (value === null || value === undefined || value === "") return "—";
  const def = ctx && ctx.customFields && ctx.customFields.find(function (f) { return f.key === key; });
  if (def && def.type === "user") return memberName(Number(value), ctx);
  if (def && def.type === "date") return formatDate(value);
  if (typeof value === "boolean") return value ? gettext("Yes") : gettext("No");
  return String(value);
}
function customLabel(key, ctx) {
  const def = ctx && ctx.customFields && ctx.customFields.find(function (f) { return f.key === key; });
  return def ? def.name : key;
}
function customFieldsText(value, ctx) {
  const keys = Object.keys(value || {});
  if (!keys.length) return "—";
  return keys.map(function (k) { return customLabel(k, ctx) + ": " + customValue(k, value[k], ctx); }).join(", ");
}

// A history entry's changes as lines for people: custom fields one per field with their
// names, a delete or restore as one line instead of is_deleted/deleted_at/deleted_by, a
// reorder within a column without its internal position numbers.
export function changeLines(changes, ctx) {
  const lines = [];
  (changes || []).forEach(function (c) {
    const empty = function (v) { return v === null || v === undefined || v === ""; };
    if (empty(c.old) && empty(c.new)) return;
    if (c.field === "deleted_at" || c.field === "deleted_by") return;
    if (c.field === "is_deleted") { lines.push(c.new ? gettext("Deleted the task") : gettext("Restored the task")); return; }
    if (c.field === "position") { lines.push(gettext("Changed the order in its column")); return; }
    if (c.field === "custom_fields") {
      const before = c.old || {}, after = c.new || {};
      Object.keys(Object.assign({}, before, after)).forEach(function (k) {
        const a = before[k], b = after[k];
        if (JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b)) return;
        lines.push(customLabel(k, ctx) + ": " + customValue(k, a, ctx) + " → " + customValue(k, b, ctx));
      });
      return;
    }
    lines.push(fieldLabel(c.field) + ": " + fieldValue(c.field, c.old, ctx) + " → " + fieldValue(c.field, c.new, ctx));
  });
  return lines;
}

export function fieldLabel(field) {
  const labels = {
    title: gettext("Title"), description: gettext("Description"), status: gettext("Status"), assignee: gettext("Assignee"),
    priority: gettext("Priority"), start_date: gettext("Start date"), due_date: gettext("Due date"),
    estimated_hours: gettext("Estimated hours"), position: gettext("Position"), parent: gettext("Parent task"),
    custom_fields: gettext("Custom fields"), project: gettext("Project"), version: gettext("Version"),
    body: gettext("Text"), depends_on: gettext("Depends on"), file: gettext("File"), name: gettext("Name"),
  };
  return labels[field] || field.replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); });
}

// The 409 dialog: the user's attempted change beside the current values. Resolves to
// "retry" (the user confirmed re-applying the change on the current version) or "cancel".
// Never resolves on its own.
export function conflictDialog(attempted, current, ctx) {
  return new Promise(function (resolve) {
    // A move carries an internal position: shown as "moved" / "where it is now", never as numbers.
    const fields = Object.keys(attempted).filter(function (f) { return f !== "position" || !("status" in attempted); });
    const rows = fields.map(function (field) {
      if (field === "position") {
        return el("tr", {}, [
          el("th", { scope: "row", text: gettext("Order in column") }),
          el("td", { class: "conflict-mine", text: gettext("Moved by you") }),
          el("td", { class: "conflict-current", text: gettext("Where it is now") }),
        ]);
      }
      const cur = field === "custom_fields"
        ? Object.fromEntries(Object.keys(attempted.custom_fields).map(function (k) { return [k, (current.custom_fields || {})[k]]; }))
        : current[field];
      return el("tr", {}, [
        el("th", { scope: "row", text: fieldLabel(field) }),
        el("td", { class: "conflict-mine", text: fieldValue(field, attempted[field], ctx) }),
        el("td", { class: "conflict-current", text: fieldValue(field, cur, ctx) }),
      ]);
    });
    const actor = current.actor || null;
    const dialog = el("dialog", { class: "conflict-dialog", id: "conflict-dialog", "aria-labelledby": "conflict-title" }, [
      el("h2", { id: "conflict-title", text: gettext("Someone else changed this task") }),
      el("p", {
        text: interpolate(gettext("You edited version %(mine)s, but it is now at version %(current)s. Your change was not saved."),
          { mine: ctx && ctx.yourVersion !== undefined ? ctx.yourVersion : "?", current: current.version }, true),
      }),
      actor ? el("p", { class: "muted", text: interpolate(gettext("Last change by %(name)s."), { name: actor.display_name || actor.username }, true) }) : null,
      el("div", { class: "table-scroll" }, el("table", { class: "conflict-table" }, [
        el("thead", {}, el("tr", {}, [el("th", { text: gettext("Field") }), el("th", { text: gettext("Your change") }), el("th", { text: gettext("Current value") })])),
        el("tbody", {}, rows),
      ])),
      el("p", { class: "muted", text: gettext("Refresh & Retry applies your change on top of the current version.") }),
      el("div", { class: "dialog-actions" }, [
        el("button", { type: "button", class: "primary", id: "conflict-retry", text: gettext("Refresh & Retry"), onclick: function () { close("retry"); } }),
        el("button", { type: "button", id: "conflict-cancel", text: gettext("Cancel"), onclick: function () { close("cancel"); } }),
      ]),
    ]);
    function close(answer) { dialog.close(); dialog.remove(); resolve(answer); }
    dialog.addEventListener("cancel", function (ev) { ev.preventDefault(); close("cancel"); });
    document.body.appendChild(dialog);
    dialog.showModal();
    dialog.querySelector("#conflict-retry").focus();
  });
}

// PATCH a task; on 409 show the conflict dialog and, if the user confirms, re-apply the
// same change on the current version. Resolves to {ok, task, cancelled, res}.
export async function patchTask(taskId, version, changes, ctx) {
  let res = await api("PATCH", "/api/tasks/" + taskId + "/", Object.assign({ version: version }, changes));
  while (res.status === 409 && res.data && res.data.error && res.data.error.code === "version_conflict") {
    const details = res.data.error.details || {};
    const current = details.current || {};
    if (ctx && ctx.onCurrent) ctx.onCurrent(current);
    const answer = await conflictDialog(changes, current, Object.assign({ yourVersion: details.your_version }, ctx || {}));
    if (answer !== "retry") return { ok: false, cancelled: true, task: current, res: res };
    res = await api("PATCH", "/api/tasks/" + taskId + "/", Object.assign({ version: current.version }, changes));
  }
  return { ok: res.ok, task: res.ok ? res.data : null, res: res };
}

// The project socket with a Live/Offline pill, catch-up and de-duplication.
//  onEvent(frame)   a task_* frame not seen before (from this tab's socket or another tab's)
//  onCatchUp()      subscribed (first time and after every reconnect): refetch what was missed
export function projectLive(projectId, handlers) {
  const pill = document.getElementById("live-pill");
  const seen = new Set();
  const order = [];
  const stats = { delivered: 0, duplicates: 0 }; // exposed for tests as window.contorlLive
  function count(name) {
    stats[name] += 1;
    if (pill) pill.dataset[name] = String(stats[name]);
  }
  function remember(id) {
    if (seen.has(id)) { count("duplicates"); return false; }
    count("delivered");
    seen.add(id); order.push(id);
    if (order.length > 2000) seen.delete(order.shift());
    return true;
  }
  let channel = null;
  if ("BroadcastChannel" in window) {
    channel = new BroadcastChannel("contorl-project-" + projectId);
    channel.onmessage = function (ev) {
      const frame = ev.data;
      if (frame && frame.event_id && remember(frame.event_id)) handlers.onEvent(frame);
    };
  }
  function setStatus(state) {
    if (!pill) return;
    const live = state === "live";
    pill.classList.toggle("status-live", live);
    pill.classList.toggle("status-offline", !live);
    pill.dataset.state = live ? "live" : "offline";
    pill.textContent = live ? gettext("Live") : gettext("Offline");
  }
  const socket = liveSocket("/ws/projects/" + projectId + "/", {
    onStatus: function (state) { if (state !== "live") setStatus("offline"); },
    onFrame: function (frame) {
      if (frame.type === "ready") { setStatus("live"); if (handlers.onCatchUp) handlers.onCatchUp(); return; }
      // Many tasks changed at once without new versions (formula fields recomputed): read again.
      if (frame.type === "board_changed") { if (handlers.onCatchUp) handlers.onCatchUp(); return; }
      if (!frame.event_id || !/^task_/.test(frame.type)) return;
      if (!remember(frame.event_id)) return;
      if (channel) channel.postMessage(frame);
      handlers.onEvent(frame);
    },
  });
  setStatus("offline");
  window.contorlLive = stats;
  window.contorlLiveSocket = socket;
  return { socket: socket, remember: remember, stats: stats };
}

// For the browser tests (they open the conflict dialog directly).
window.contorlTasks = { conflictDialog: conflictDialog };
