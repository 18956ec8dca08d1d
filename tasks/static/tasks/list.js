// List view: every live task (subtasks too) in a table, sortable by any column, filtered by
// assignee, priority, status and text; refetched when the project changes.
import * as T from "./common.js";
import { api } from "../js/core/api.js";

const { gettext, el } = T;
const data = T.pageData();
const projectId = data.project.id;
let statuses = [], tasks = [];
const sort = { key: "position", dir: 1 };
const filters = { assignee: "", priority: "", q: "", status: "" };

function load(board) {
  statuses = board.statuses;
  tasks = [];
  board.statuses.forEach(function (s) { s.tasks.forEach(function (x) { tasks.push(x); }); });
}
const statusOf = function (x) { return statuses.find(function (s) { return s.id === x.status; }); };
const columns = [
  { key: "title", label: gettext("Title"), value: function (x) { return x.title.toLowerCase(); } },
  { key: "status", label: gettext("Status"), value: function (x) { const s = statusOf(x); return s ? s.order : 0; } },
  { key: "assignee", label: gettext("Assignee"), value: function (x) { return x.assignee_detail ? x.assignee_detail.display_name.toLowerCase() : "~"; } },
  { key: "priority", label: gettext("Priority"), value: function (x) { return x.priority; } },
  { key: "due_date", label: gettext("Due date"), value: function (x) { return x.due_date || "9999"; } },
  { key: "estimated_hours", label: gettext("Estimated hours"), value: function (x) { return x.estimated_hours === null ? -1 : x.estimated_hours; } },
].concat(data.custom_fields.map(function (f) {
  return { key: "cf:" + f.key, label: f.name, value: function (x) { const v = (x.custom_fields || {})[f.key]; return v === null || v === undefined ? "" : v; } };
}));

function head() {
  const row = document.getElementById("task-table-head");
  row.replaceChildren.apply(row, columns.map(function (c) {
    return el("th", { class: "sortable", "aria-sort": sort.key === c.key ? (sort.dir > 0 ? "ascending" : "descending") : "none" },
      el("button", { type: "button", text: c.label, onclick: function () {
        sort.dir = sort.key === c.key ? -sort.dir : 1; sort.key = c.key; render();
      } }));
  }));
}

function render() {
  head();
  const col = columns.find(function (c) { return c.key === sort.key; });
  const shown = tasks.filter(function (x) {
    if (filters.status && String(x.status) !== filters.status) return false;
    if (filters.assignee === "none" && x.assignee) return false;
    if (filters.assignee && filters.assignee !== "none" && String(x.assignee) !== filters.assignee) return false;
    if (filters.priority !== "" && String(x.priority) !== filters.priority) return false;
    if (filters.q && !(x.title + " " + (x.description || "")).toLowerCase().includes(filters.q.toLowerCase())) return false;
    return true;
  }).sort(function (a, b) {
    if (!col) return a.position - b.position || a.id - b.id;
    const va = col.value(a), vb = col.value(b);
    return (va < vb ? -1 : va > vb ? 1 : a.id - b.id) * sort.dir;
  });
  const byId = Object.fromEntries(statuses.map(function (s) { return [s.id, s]; }));
  const body = document.getElementById("task-table-body");
  body.replaceChildren.apply(body, shown.map(function (x) {
    const s = statusOf(x);
    const overdue = T.isOverdue(x, byId);
    return el("tr", { dataset: { taskId: x.id } }, [
      el("td", {}, [x.parent ? "↳ " : "", el("a", { href: "/tasks/" + x.id + "/", text: x.title })]),
      el("td", {}, el("span", { class: "status-badge", style: { "--dot": s ? s.color : "" }, text: s ? s.name : "" })),
      el("td", { text: x.assignee_detail ? x.assignee_detail.display_name : "—" }),
      el("td", { text: T.PRIORITY()[x.priority] }),
      el("td", { class: overdue ? "overdue" : null, text: (overdue ? "⚠ " : "") + (x.due_date ? T.formatDate(x.due_date) : "—") }),
      el("td", { text: x.estimated_hours === null ? "—" : String(x.estimated_hours) }),
    ].concat(data.custom_fields.map(function (f) {
      const v = (x.custom_fields || {})[f.key];
      const err = (x.custom_field_errors || {})[f.key];
      return el("td", { text: err ? "⚠ " + err : v === null || v === undefined ? "—" : String(v) });
    })));
  }));
  document.getElementById("task-count").textContent = T.interpolate(gettext("%(n)s tasks"), { n: shown.length }, true);
}

const form = document.getElementById("board-filters");
const apply = function () {
  filters.assignee = form.elements.assignee.value;
  filters.priority = form.elements.priority.value;
  filters.status = form.elements.status.value;
  filters.q = form.elements.q.value.trim();
  render();
};
form.addEventListener("input", apply);
form.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });

let refetching = null;
function refetch() {
  if (refetching) return;
  refetching = api("GET", "/api/projects/" + projectId + "/board/").then(function (res) {
    refetching = null;
    if (res.ok) { load(res.data); render(); }
  });
}
load(data.board);
render();
T.projectLive(projectId, { onEvent: refetch, onCatchUp: refetch });
