// Task detail: edit every field (custom and formula too), subtasks, dependencies (a refused
// cycle drawn as a linked path), comments with @mention autocomplete, attachments by drag and
// drop with image preview, history, delete (blocker warning) and restore.
import * as T from "./common.js";
import { api } from "../js/core/api.js";

const { gettext, el } = T;
const data = T.pageData();
let task = data.task; // the version our form is based on (stale until saved or refreshed)
const projectId = data.project.id;
const form = document.getElementById("task-form");
const ctx = { statuses: data.statuses, members: data.members, customFields: data.custom_fields, titles: {} };
const fmtDate = T.formatDateTime;
const me = Number(document.body.dataset.userId) || null;
let writing = 0; // writes of ours on the way: their own events must not read as someone else's change

// --- the edit form ---------------------------------------------------------------------
function customInput(field) {
  const name = "cf_" + field.key;
  const id = "cf-" + field.key;
  let input;
  if (field.type === "formula") {
    input = el("output", { id: id, name: name, class: "formula-value" });
  } else if (field.type === "select") {
    input = el("select", { id: id, name: name }, [el("option", { value: "", text: "—" })].concat(
      (field.options || []).map(function (o) { return el("option", { value: o, text: o }); })));
  } else if (field.type === "user") {
    input = el("select", { id: id, name: name }, [el("option", { value: "", text: "—" })].concat(
      data.members.map(function (m) { return el("option", { value: m.id, text: m.display_name }); })));
  } else {
    const type = field.type === "number" ? "number" : field.type === "date" ? "date" : "text";
    input = el("input", { id: id, name: name, type: type, step: type === "number" ? "any" : null, maxlength: type === "text" ? "1000" : null });
  }
  return el("label", { for: id }, [
    field.name + (field.type === "formula" ? " (" + gettext("formula") + ")" : ""),
    input,
    field.type === "formula" ? el("span", { class: "formula-error", id: "cf-error-" + field.key }) : null,
  ]);
}

function fill() {
  form.elements.title.value = task.title;
  form.elements.description.value = task.description || "";
  form.elements.status.value = String(task.status);
  form.elements.assignee.value = task.assignee ? String(task.assignee) : "";
  form.elements.priority.value = String(task.priority);
  form.elements.start_date.value = task.start_date || "";
  form.elements.due_date.value = task.due_date || "";
  form.elements.estimated_hours.value = task.estimated_hours === null ? "" : String(task.estimated_hours);
  form.elements.parent.value = task.parent ? String(task.parent) : "";
  data.custom_fields.forEach(function (f) {
    const value = (task.custom_fields || {})[f.key];
    const node = document.getElementById("cf-" + f.key);
    if (f.type === "formula") {
      node.textContent = value === null || value === undefined ? "—" : String(value);
      const err = (task.custom_field_errors || {})[f.key];
      document.getElementById("cf-error-" + f.key).textContent = err ? gettext("Error:") + " " + err : "";
    } else {
      node.value = value === null || value === undefined ? "" : String(value);
    }
  });
  document.getElementById("task-heading").textContent = "#" + task.id + " " + task.title;
  document.getElementById("version-note").textContent = gettext("Version") + " " + task.version;
  if (!data.can_edit) Array.from(form.elements).forEach(function (n) { n.disabled = true; });
  renderDeleted();
}

function numOrNull(v) { return v === "" ? null : Number(v); }

function changes() {
  const out = {};
  const f = form.elements;
  const want = {
    title: f.title.value.trim(),
    description: f.description.value,
    status: Number(f.status.value),
    assignee: f.assignee.value ? Number(f.assignee.value) : null,
    priority: Number(f.priority.value),
    start_date: f.start_date.value || null,
    due_date: f.due_date.value || null,
    estimated_hours: numOrNull(f.estimated_hours.value),
    parent: f.parent.value ? Number(f.parent.value) : null,
  };
  Object.keys(want).forEach(function (k) {
    const cur = task[k] === undefined ? null : task[k];
    if (k === "estimated_hours" ? (cur === null ? null : Number(cur)) !== want[k] : cur !== want[k]) out[k] = want[k];
  });
  const custom = {};
  data.custom_fields.forEach(function (field) {
    if (field.type === "formula") return;
    const raw = document.getElementById("cf-" + field.key).value;
    let value = raw === "" ? null : raw;
    if (value !== null && (field.type === "number")) value = Number(raw);
    if (value !== null && field.type === "user") value = Number(raw);
    const cur = (task.custom_fields || {})[field.key];
    if ((cur === undefined ? null : cur) !== value) custom[field.key] = value;
  });
  if (Object.keys(custom).length) out.custom_fields = custom;
  return out;
}

form.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const diff = changes();
  if (!Object.keys(diff).length) { T.toast(gettext("Nothing to save."), "info"); return; }
  const button = document.getElementById("save-task");
  button.disabled = true;
  writing += 1;
  const result = await T.patchTask(task.id, task.version, diff, ctx);
  writing -= 1;
  button.disabled = false;
  if (result.ok) {
    task = result.task;
    fill();
    clearBanner();
    T.toast(gettext("Saved."), "success");
    loadHistory();
  } else if (result.cancelled) {
    T.toast(gettext("Not saved. Your edits are still in the form; the current values are shown in the banner."), "info");
    showRemoteChange(result.task, true);
  } else {
    T.toast(T.errorText(result.res), "error");
  }
});

// --- live: tell the user when someone else changed this task -------------------------------
const banner = document.getElementById("task-banner");
function clearBanner() { banner.replaceChildren(); }
function showRemoteChange(current, force) {
  if (!current || !current.id || (!force && current.version <= task.version)) return;
  const mine = !!(current.actor && me && current.actor.id === me);
  // Our own save, delete or restore from this page: its answer brings the new version.
  if (mine && writing > 0 && !force) return;
  const who = current.actor ? (current.actor.display_name || current.actor.username) : null;
  const text = mine ? gettext("You changed this task in another window or tab.")
    : who ? T.interpolate(gettext("%(name)s changed this task."), { name: who }, true) : gettext("This task was changed.");
  banner.replaceChildren(el("div", { class: "banner", id: "remote-change", dataset: { mine: mine ? "true" : "false" } }, [
    el("span", { text: text + " " + gettext("Version") + " " + current.version }),
    el("button", { type: "button", text: gettext("Load current values"), onclick: function () { task = current; fill(); clearBanner(); loadHistory(); } }),
  ]));
}
T.projectLive(projectId, {
  onEvent: function (frame) {
    const d = frame.data;
    if (d.id === task.id) showRemoteChange(d, false);
    if (d.parent === task.id || d.id === task.id) loadSubtasks();
  },
  onCatchUp: function () {
    api("GET", "/api/tasks/" + task.id + "/").then(function (res) { if (res.ok) showRemoteChange(res.data, false); });
  },
});

// --- subtasks ------------------------------------------------------------------------------
function results(res) { return Array.isArray(res.data) ? res.data : (res.data && res.data.results) || []; }
const loadSubtasksTicket = T.newestOnly();
async function loadSubtasks() {
  const isNewest = loadSubtasksTicket();
  const res = await api("GET", "/api/tasks/?parent=" + task.id);
  if (!isNewest()) return;
  const list = document.getElementById("subtasks");
  const items = results(res);
  list.replaceChildren.apply(list, items.length ? items.map(function (s) {
    const st = data.statuses.find(function (x) { return x.id === s.status; });
    return el("li", {}, [el("a", { href: "/tasks/" + s.id + "/", text: s.title }), el("span", { class: "status-badge", style: { "--dot": st ? st.color : "" }, text: st ? st.name : "" })]);
  }) : [el("li", { class: "muted", text: gettext("No subtasks.") })]);
}
const subtaskForm = document.getElementById("subtask-form");
if (subtaskForm) subtaskForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const title = subtaskForm.elements.title.value.trim();
  const res = await api("POST", "/api/tasks/", { project: projectId, title: title, parent: task.id, status: task.status });
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  subtaskForm.reset();
  loadSubtasks();
});

// --- dependencies ------------------------------------------------------------------------
const titles = {};
const loadDependenciesTicket = T.newestOnly();
async function loadDependencies() {
  const isNewest = loadDependenciesTicket();
  const [deps, board] = await Promise.all([
    api("GET", "/api/tasks/" + task.id + "/dependencies/"),
    api("GET", "/api/projects/" + projectId + "/board/"),
  ]);
  if (!isNewest()) return;
  const list = document.getElementById("dependencies");
  const items = deps.ok ? deps.data : [];
  list.replaceChildren.apply(list, items.length ? items.map(function (d) {
    return el("li", {}, [
      el("a", { href: "/tasks/" + d.depends_on + "/", text: "#" + d.depends_on + " " + d.depends_on_title }),
      data.can_edit ? el("button", { type: "button", text: gettext("Remove"), "aria-label": gettext("Remove dependency") + " " + d.depends_on_title, onclick: async function () {
        const res = await api("DELETE", "/api/tasks/" + task.id + "/dependencies/" + d.depends_on + "/");
        if (!res.ok) T.toast(T.errorText(res), "error");
        loadDependencies();
      } }) : null,
    ]);
  }) : [el("li", { class: "muted", text: gettext("No dependencies.") })]);
  const select = document.getElementById("dependency-select");
  if (select && board.ok) {
    const taken = new Set(items.map(function (d) { return d.depends_on; }));
    const options = [];
    board.data.statuses.forEach(function (s) { s.tasks.forEach(function (x) {
      titles[x.id] = x.title;
      ctx.titles[x.id] = x.title;
      if (x.id !== task.id && !taken.has(x.id)) options.push(el("option", { value: x.id, text: "#" + x.id + " " + x.title }));
    }); });
    select.replaceChildren.apply(select, [el("option", { value: "", text: gettext("Choose a task…") })].concat(options));
  }
  const parentSelect = form.elements.parent;
  if (board.ok) {
    const parents = [];
    board.data.statuses.forEach(function (s) { s.tasks.forEach(function (x) {
      if (x.id !== task.id) parents.push(el("option", { value: x.id, text: "#" + x.id + " " + x.title }));
    }); });
    parentSelect.replaceChildren.apply(parentSelect, [el("option", { value: "", text: gettext("None (top level)") })].concat(parents));
    parentSelect.value = task.parent ? String(task.parent) : "";
    if (!data.can_edit) parentSelect.disabled = true;
  }
}
function drawCycle(details) {
  const box = document.getElementById("cycle-path");
  const ids = details.cycle || [];
  const names = details.titles || [];
  const parts = [];
  ids.forEach(function (id, i) {
    if (i) parts.push(" → ");
    parts.push(el("a", { href: "/tasks/" + id + "/", text: names[i] || titles[id] || "#" + id }));
  });
  box.replaceChildren(el("div", { class: "cycle-path", role: "alert" }, [
    el("strong", { text: gettext("Refused: this would create a cycle.") }), el("br"),
  ].concat(parts)));
}
const depForm = document.getElementById("dependency-form");
if (depForm) depForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  document.getElementById("cycle-path").replaceChildren();
  const res = await api("POST", "/api/tasks/" + task.id + "/dependencies/", { depends_on: Number(depForm.elements.depends_on.value) });
  if (!res.ok) {
    const err = res.data && res.data.error;
    if (err && err.code === "dependency_cycle") drawCycle(err.details || {});
    else T.toast(T.errorText(res), "error");
    return;
  }
  loadDependencies();
});

// --- comments with @mention autocomplete ------------------------------------------------------
const loadCommentsTicket = T.newestOnly();
async function loadComments() {
  const isNewest = loadCommentsTicket();
  const res = await api("GET", "/api/tasks/" + task.id + "/comments/");
  if (!isNewest()) return;
  const box = document.getElementById("comments");
  const items = results(res);
  box.replaceChildren.apply(box, items.length ? items.map(function (c) {
    return el("div", { class: "comment" }, [
      el("span", { class: "who", text: c.author ? c.author.display_name : gettext("Someone") }),
      el("span", { class: "when", text: fmtDate(c.created_at) }),
      el("div", { class: "comment-body", text: c.body }),
    ]);
  }) : [el("p", { class: "muted", text: gettext("No comments yet.") })]);
}
const commentForm = document.getElementById("comment-form");
if (commentForm) {
  const area = commentForm.elements.body;
  const list = document.getElementById("mention-list");
  let active = 0, matches = [];
  function mentionQuery() {
    const before = area.value.slice(0, area.selectionStart);
    const m = /(^|\s)@([\w.-]{0,30})$/.exec(before);
    return m ? m[2] : null;
  }
  function closeList() { list.hidden = true; matches = []; }
  function pick(username) {
    const pos = area.selectionStart;
    const before = area.value.slice(0, pos).replace(/@([\w.-]{0,30})$/, "@" + username + " ");
    area.value = before + area.value.slice(pos);
    area.selectionStart = area.selectionEnd = before.length;
    closeList();
    area.focus();
  }
  function showList() {
    const q = mentionQuery();
    if (q === null) { closeList(); return; }
    matches = data.members.filter(function (m) {
      return m.username.toLowerCase().startsWith(q.toLowerCase()) || m.display_name.toLowerCase().includes(q.toLowerCase());
    }).slice(0, 8);
    if (!matches.length) { closeList(); return; }
    active = Math.min(active, matches.length - 1);
    list.replaceChildren.apply(list, matches.map(function (m, i) {
      return el("li", { role: "option", id: "mention-" + m.username, "aria-selected": i === active ? "true" : "false",
        onmousedown: function (ev) { ev.preventDefault(); pick(m.username); }, text: "@" + m.username + " · " + m.display_name });
    }));
    list.hidden = false;
  }
  area.addEventListener("input", function () { active = 0; showList(); });
  area.addEventListener("keydown", function (ev) {
    if (list.hidden || !matches.length) return;
    if (ev.key === "ArrowDown") { ev.preventDefault(); active = (active + 1) % matches.length; showList(); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); active = (active - 1 + matches.length) % matches.length; showList(); }
    else if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); pick(matches[active].username); }
    else if (ev.key === "Escape") { closeList(); }
  });
  area.addEventListener("blur", function () { setTimeout(closeList, 150); });
  commentForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const res = await api("POST", "/api/tasks/" + task.id + "/comments/", { body: area.value });
    if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
    commentForm.reset();
    loadComments();
  });
}

// --- attachments: drag and drop, image previews -------------------------------------------
const loadAttachmentsTicket = T.newestOnly();
async function loadAttachments() {
  const isNewest = loadAttachmentsTicket();
  const res = await api("GET", "/api/tasks/" + task.id + "/attachments/");
  if (!isNewest()) return;
  const list = document.getElementById("attachments");
  const items = res.ok ? results(res) : [];
  list.replaceChildren.apply(list, items.map(function (a) {
    const image = /^image\//.test(a.content_type);
    return el("li", {}, [
      image ? el("img", { src: a.url, alt: a.name, loading: "lazy" }) : null,
      el("a", { href: a.url, text: a.name }),
      el("div", { class: "muted", text: Math.ceil(a.size / 1024) + " KB" }),
    ]);
  }));
}
async function upload(files) {
  const list = document.getElementById("attachments");
  for (const file of files) {
    const preview = el("li", { class: "uploading" }, [
      /^image\//.test(file.type) ? el("img", { src: URL.createObjectURL(file), alt: file.name }) : null,
      el("span", { text: file.name + " · " + gettext("uploading…") }),
    ]);
    list.appendChild(preview);
    const body = new FormData();
    body.append("file", file);
    const res = await api("POST", "/api/tasks/" + task.id + "/attachments/", body);
    preview.remove();
    if (!res.ok) T.toast(file.name + ": " + T.errorText(res), "error");
  }
  loadAttachments();
}
const zone = document.getElementById("dropzone");
if (zone) {
  ["dragenter", "dragover"].forEach(function (type) { zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.add("dragover"); }); });
  ["dragleave", "drop"].forEach(function (type) { zone.addEventListener(type, function () { zone.classList.remove("dragover"); }); });
  zone.addEventListener("drop", function (ev) { ev.preventDefault(); upload(Array.from(ev.dataTransfer.files || [])); });
  document.getElementById("file-input").addEventListener("change", function (ev) { upload(Array.from(ev.target.files || [])); ev.target.value = ""; });
}

// --- history -----------------------------------------------------------------------------------
const loadHistoryTicket = T.newestOnly();
async function loadHistory() {
  const isNewest = loadHistoryTicket();
  const res = await api("GET", "/api/tasks/" + task.id + "/history/");
  if (!isNewest()) return;
  const list = document.getElementById("history");
  const items = res.ok ? (Array.isArray(res.data) ? res.data : results(res)) : [];
  list.replaceChildren.apply(list, items.slice().reverse().map(function (h) {
    return el("li", {}, [
      el("div", {}, [el("strong", { text: h.by ? h.by.display_name : gettext("System") }), " · ", el("span", { class: "when", text: fmtDate(h.at) + " · " + gettext("Version") + " " + h.version })]),
      el("ul", { class: "plain" }, T.changeLines(h.changes, ctx).map(function (line) { return el("li", { text: line }); })),
    ]);
  }));
}

// --- delete and restore ---------------------------------------------------------------------------
const deleteArea = document.getElementById("delete-area");
function renderDeleted() {
  if (!task.is_deleted) { if (banner.querySelector("#deleted-banner")) clearBanner(); return; }
  banner.replaceChildren(el("div", { class: "banner bad", id: "deleted-banner" }, [
    el("span", { text: gettext("This task is deleted.") }),
    data.can_edit ? el("button", { type: "button", id: "restore-cascade", text: gettext("Restore with subtasks"), onclick: function () { restore(true); } }) : null,
    data.can_edit ? el("button", { type: "button", id: "restore-alone", text: gettext("Restore this task only"), onclick: function () { restore(false); } }) : null,
  ]));
}
async function restore(cascade) {
  writing += 1;
  const res = await api("POST", "/api/tasks/" + task.id + "/restore/", { cascade: cascade });
  writing -= 1;
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  task = res.data.task;
  clearBanner();
  fill();
  resetDelete();
  T.toast(gettext("Restored."), "success");
  loadHistory();
  loadSubtasks();
}
async function remove(force) {
  writing += 1;
  try { await removeNow(force); } finally { writing -= 1; }
}
async function removeNow(force) {
  const res = await api("DELETE", "/api/tasks/" + task.id + "/?version=" + task.version + (force ? "&force=true" : ""));
  if (res.status === 409 && res.data && res.data.error && res.data.error.code === "has_blockers") {
    const blocked = res.data.error.details.blocked_tasks || [];
    deleteArea.replaceChildren(
      el("div", { class: "banner bad", role: "alert", id: "blocker-warning" }, [
        el("p", { text: gettext("Other tasks depend on this one. Deleting it leaves them blocked by a deleted task:") }),
        el("ul", {}, blocked.map(function (b) { return el("li", {}, el("a", { href: "/tasks/" + b.id + "/", text: b.title })); })),
      ]),
      el("div", { class: "actions" }, [
        el("button", { type: "button", class: "danger", id: "delete-force", text: gettext("Delete anyway"), onclick: function () { remove(true); } }),
        el("button", { type: "button", text: gettext("Cancel"), onclick: resetDelete }),
      ]),
    );
    return;
  }
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  // The server's copy carries the new version and the deleted flag.
  const fresh = await api("GET", "/api/tasks/" + task.id + "/");
  task = fresh.ok ? fresh.data : Object.assign({}, task, { is_deleted: true });
  clearBanner();
  resetDelete();
  fill();
  T.toast(gettext("Deleted."), "info");
}
// Deleting asks once more (it takes the subtasks along); a deleted task offers restore only.
function confirmDelete() {
  deleteArea.replaceChildren(
    el("p", { id: "delete-question", text: T.interpolate(gettext("Delete “%(title)s”? Its subtasks are deleted with it. You can restore it from this page."), { title: task.title }, true) }),
    el("div", { class: "actions" }, [
      el("button", { type: "button", class: "danger", id: "delete-confirm", text: gettext("Delete"), onclick: function () { remove(false); } }),
      el("button", { type: "button", id: "delete-cancel", text: gettext("Cancel"), onclick: resetDelete }),
    ]),
  );
  document.getElementById("delete-cancel").focus();
}
function resetDelete() {
  if (!deleteArea) return;
  const section = deleteArea.closest("section");
  if (section) section.hidden = !!task.is_deleted;
  if (task.is_deleted) { deleteArea.replaceChildren(); return; }
  deleteArea.replaceChildren(el("button", { type: "button", class: "danger", id: "delete-task", text: gettext("Delete task"), onclick: confirmDelete }));
}

data.custom_fields.forEach(function (f) { document.getElementById("custom-fields").appendChild(customInput(f)); });
fill();
resetDelete();
loadSubtasks();
loadDependencies();
loadComments();
loadAttachments();
loadHistory();
