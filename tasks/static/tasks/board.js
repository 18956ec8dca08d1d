// The kanban board: columns per status, cards, drag and drop (optimistic, rolled back on
// refusal, conflict dialog on 409), live updates, quick-add and filters.
import * as T from "./common.js";
import { api } from "../js/core/api.js";

const { gettext, el } = T;
const data = T.pageData();
const projectId = data.project.id;
const canEdit = data.can_edit;
let statuses = data.board.statuses.map(function (s) { return Object.assign({}, s, { tasks: undefined }); });
let statusesById = {};
const tasks = new Map(); // id -> task payload (the last state we know)
const inFlight = new Set(); // task ids with a write of ours on the way
const membersById = Object.fromEntries(data.members.map(function (m) { return [m.id, m]; }));
const keyFields = data.custom_fields.filter(function (f) { return f.type !== "text"; }).slice(0, 2);
const filters = { assignee: "", priority: "", q: "" };
const boardNode = document.getElementById("board");

function loadBoard(board) {
  statuses = board.statuses.map(function (s) { return Object.assign({}, s, { tasks: undefined }); });
  statusesById = Object.fromEntries(statuses.map(function (s) { return [s.id, s]; }));
  tasks.clear();
  board.statuses.forEach(function (s) { s.tasks.forEach(function (task) { tasks.set(task.id, task); }); });
}

function matches(task) {
  if (task.parent) return false; // subtasks live inside their parent (count on the card)
  if (filters.assignee === "none" && task.assignee) return false;
  if (filters.assignee && filters.assignee !== "none" && String(task.assignee) !== filters.assignee) return false;
  if (filters.priority !== "" && String(task.priority) !== filters.priority) return false;
  if (filters.q) {
    const hay = (task.title + " " + (task.description || "")).toLowerCase();
    if (!hay.includes(filters.q.toLowerCase())) return false;
  }
  return true;
}

function byPosition(a, b) { return a.position - b.position || a.id - b.id; }

function card(task) {
  const overdue = T.isOverdue(task, statusesById);
  const assignee = task.assignee_detail ? task.assignee_detail.display_name : null;
  const fieldBits = keyFields.map(function (f) {
    const v = (task.custom_fields || {})[f.key];
    if (v === null || v === undefined || v === "") return null;
    const shown = f.type === "user" && membersById[v] ? membersById[v].display_name : String(v);
    return el("span", { class: "chip", title: f.name, text: f.name + ": " + shown });
  });
  return el("li", {
    class: "task-card priority-" + task.priority, dataset: { taskId: task.id }, id: "task-card-" + task.id,
    tabindex: canEdit ? "0" : null, "aria-keyshortcuts": canEdit ? "Alt+ArrowLeft Alt+ArrowRight" : null,
    title: canEdit ? gettext("Drag, or Alt+← / Alt+→ to move between columns") : null,
  }, [
    el("a", { class: "task-card-title", href: "/tasks/" + task.id + "/", text: task.title }),
    el("div", { class: "task-card-meta" }, [
      el("span", { class: "chip chip-priority p" + task.priority, text: T.PRIORITY()[task.priority] }),
      assignee ? el("span", { class: "chip chip-assignee", text: assignee }) : el("span", { class: "chip muted", text: gettext("Unassigned") }),
      task.due_date ? el("span", { class: "chip" + (overdue ? " overdue" : ""), title: overdue ? gettext("Overdue") : gettext("Due date"), text: (overdue ? "⚠ " : "") + T.formatDate(task.due_date) }) : null,
      task.subtask_count ? el("span", { class: "chip", title: gettext("Subtasks"), text: "☰ " + task.subtask_count }) : null,
    ].concat(fieldBits)),
  ]);
}

let dragging = false;
function render() {
  // Re-rendering under a drag in progress would pull the card out of the user's hand;
  // live updates wait until the drop (moveNow renders after every drop).
  if (dragging) return;
  statusesById = Object.fromEntries(statuses.map(function (s) { return [s.id, s]; }));
  boardNode.querySelectorAll(".board-column").forEach(function (col) {
    const statusId = Number(col.dataset.statusId);
    const list = col.querySelector(".card-list");
    const items = Array.from(tasks.values()).filter(function (x) { return x.status === statusId && !x.is_deleted; });
    const shown = items.filter(matches).sort(byPosition);
    list.replaceChildren.apply(list, shown.map(card));
    col.querySelector(".column-count").textContent = String(shown.length);
  });
}

function upsert(task) {
  if (task.project !== projectId) return;
  tasks.set(task.id, task);
}

// A live frame: apply it unless we already know this version (our own optimistic change
// comes back as an event too; the version tells us it's nothing new).
function onEvent(frame) {
  const task = frame.data;
  if (!task || !task.id) return;
  const known = tasks.get(task.id);
  if (known && known.version >= task.version) return;
  if (inFlight.has(task.id) && known && task.version <= known.version) return;
  if (frame.type === "task_deleted") tasks.delete(task.id);
  else upsert(task);
  render();
  // A subtask change moves its parent's subtask_count without an event for the parent.
  if (task.parent && /^task_(created|deleted|restored)$/.test(frame.type)) scheduleCatchUp();
}

let catchUpTimer = null;
function scheduleCatchUp() {
  clearTimeout(catchUpTimer);
  catchUpTimer = setTimeout(catchUp, 300); // one refetch for a burst (cascades send one event per task)
}

const catchUpTicket = T.newestOnly();
async function catchUp() {
  const isNewest = catchUpTicket();
  const res = await api("GET", "/api/projects/" + projectId + "/board/");
  if (!isNewest()) return; // a later catch-up is on its way with a newer board
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  // Keep tasks with our writes in flight as they are on screen; their answer settles them.
  const pending = Array.from(inFlight).map(function (id) { return tasks.get(id); }).filter(Boolean);
  loadBoard(res.data);
  pending.forEach(function (task) { if (!tasks.has(task.id) || tasks.get(task.id).version <= task.version) tasks.set(task.id, task); });
  render();
}

function newPosition(list, movedId) {
  const ids = Array.from(list.querySelectorAll(".task-card")).map(function (n) { return Number(n.dataset.taskId); });
  const i = ids.indexOf(movedId);
  const prev = i > 0 ? tasks.get(ids[i - 1]) : null;
  const next = i < ids.length - 1 ? tasks.get(ids[i + 1]) : null;
  if (prev && next) return next.position - prev.position > 1 ? Math.floor((prev.position + next.position) / 2) : prev.position + 1;
  if (prev) return prev.position + 1024;
  if (next) return Math.max(0, next.position - 1024);
  return 0;
}

// One write per card at a time: a second move of the same card waits for the first
// answer, so it carries the new version instead of conflicting with ourselves.
const chains = new Map();
function move(taskId, statusId, position) {
  const run = (chains.get(taskId) || Promise.resolve()).then(function () { return moveNow(taskId, statusId, position); });
  chains.set(taskId, run.catch(function () {}));
  return run;
}

async function moveNow(taskId, statusId, position) {
  const before = tasks.get(taskId);
  if (!before || (before.status === statusId && before.position === position)) { render(); return; }
  const changes = before.status === statusId ? { position: position } : { status: statusId, position: position };
  tasks.set(taskId, Object.assign({}, before, changes)); // optimistic
  inFlight.add(taskId);
  render();
  const result = await T.patchTask(taskId, before.version, changes, {
    statuses: statuses, members: data.members, customFields: data.custom_fields,
    onCurrent: function (current) { if (current && current.id) { tasks.set(taskId, current); render(); } },
  });
  inFlight.delete(taskId);
  if (result.ok) {
    const known = tasks.get(taskId);
    if (!known || known.version <= result.task.version) tasks.set(taskId, result.task);
  } else if (result.cancelled) {
    if (result.task && result.task.id) tasks.set(taskId, result.task);
    T.toast(gettext("Your move was cancelled; the board shows the current state."), "info");
  } else {
    tasks.set(taskId, before); // roll back
    T.toast(gettext("The move was refused:") + " " + T.errorText(result.res), "error");
  }
  render();
}

function setupDrag() {
  if (!canEdit || !window.Sortable) return;
  boardNode.querySelectorAll(".card-list").forEach(function (list) {
    window.Sortable.create(list, {
      group: "board-" + projectId,
      animation: 120,
      draggable: ".task-card",
      filter: "a, button",
      preventOnFilter: false,
      delayOnTouchOnly: true,
      delay: 150,
      onStart: function () { dragging = true; },
      onEnd: function (ev) {
        dragging = false;
        const taskId = Number(ev.item.dataset.taskId);
        const statusId = Number(ev.to.closest(".board-column").dataset.statusId);
        move(taskId, statusId, newPosition(ev.to, taskId));
      },
    });
  });
}

// Keyboard alternative to dragging: Alt+←/→ moves the focused card to the end of the
// neighbouring column (same optimistic path, same conflict dialog).
function setupKeyboardMoves() {
  if (!canEdit) return;
  boardNode.addEventListener("keydown", function (ev) {
    const cardNode = ev.target.closest && ev.target.closest(".task-card");
    if (!cardNode || !ev.altKey || (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight")) return;
    ev.preventDefault();
    const taskId = Number(cardNode.dataset.taskId);
    const columns = Array.from(boardNode.querySelectorAll(".board-column"));
    const index = columns.indexOf(cardNode.closest(".board-column")) + (ev.key === "ArrowRight" ? 1 : -1);
    if (index < 0 || index >= columns.length) return;
    const statusId = Number(columns[index].dataset.statusId);
    const last = Array.from(tasks.values()).filter(function (x) { return x.status === statusId; })
      .reduce(function (max, x) { return Math.max(max, x.position); }, -1024);
    move(taskId, statusId, last + 1024).then(function () {
      const again = document.getElementById("task-card-" + taskId);
      if (again) again.focus();
    });
    const moved = document.getElementById("task-card-" + taskId);
    if (moved) moved.focus();
  });
}

function setupQuickAdd() {
  boardNode.querySelectorAll(".quick-add").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const input = form.querySelector("input[name=title]");
      const title = input.value.trim();
      if (!title) return;
      const statusId = Number(form.closest(".board-column").dataset.statusId);
      const button = form.querySelector("button");
      button.disabled = true;
      const res = await api("POST", "/api/tasks/", { project: projectId, title: title, status: statusId });
      button.disabled = false;
      if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
      input.value = "";
      upsert(res.data);
      render();
    });
  });
}

function setupFilters() {
  const form = document.getElementById("board-filters");
  if (!form) return;
  const apply = function () {
    filters.assignee = form.elements.assignee.value;
    filters.priority = form.elements.priority.value;
    filters.q = form.elements.q.value.trim();
    render();
  };
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });
}

loadBoard(data.board);
render();
setupDrag();
setupQuickAdd();
setupKeyboardMoves();
setupFilters();
T.projectLive(projectId, { onEvent: onEvent, onCatchUp: catchUp });
window.contorlBoard = { tasks: tasks, render: render }; // for debugging and tests
