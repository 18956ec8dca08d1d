// Assignment calendar: workers as rows, days as columns, assignments as bars.
// Drag a bar to move it (in time, or to another worker), drag its right edge to resize,
// select several (Ctrl/Shift-click) and move them together. Every change goes through the
// bulk endpoint, which answers per item: the moved ones take their new versions, the ones
// someone else changed meanwhile open the conflict dialog ("Retry failed only").
// Other open calendars follow through the project sockets (assignment_* events).
import * as T from "../tasks/common.js";
import { api } from "../js/core/api.js";
import { liveSocket } from "../js/core/live.js";
import { ngettext } from "../js/core/i18n.js";

const { gettext, interpolate, el } = T;
const page = T.pageData();
const form = document.getElementById("cal-filters");
const grid = document.getElementById("calendar");
const DAY_W = 34; // px per day column
const DAY_MS = 86400000;

const state = {
  days: [], workers: [], assignments: new Map(), selected: new Set(), sockets: new Map(),
  projects: new Map(page.projects.map(function (p) { return [p.id, p]; })),
  phases: new Map(page.phases.map(function (p) { return [p.id, p]; })),
  lastMove: null,
};

// --- dates (calendar days, in UTC so no time zone shifts them) ---------------------
function parseDay(iso) { const [y, m, d] = iso.split("-").map(Number); return Date.UTC(y, m - 1, d); }
function iso(ms) { return new Date(ms).toISOString().slice(0, 10); }
function addDays(isoDay, n) { return iso(parseDay(isoDay) + n * DAY_MS); }
function between(a, b) { return Math.round((parseDay(b) - parseDay(a)) / DAY_MS); }
const weekday = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { weekday: "narrow", timeZone: "UTC" });
const dayMonth = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { day: "numeric", month: "short", timeZone: "UTC" });

// --- loading --------------------------------------------------------------------------
async function getAll(path) {
  let url = path, out = [];
  while (url) {
    const res = await api("GET", url);
    if (!res.ok) throw res;
    out = out.concat(res.data.results || res.data);
    url = res.data.next ? res.data.next.replace(/^https?:\/\/[^/]+/, "") : null;
  }
  return out;
}

function range() {
  const start = form.elements.start.value || page.start;
  const weeks = Math.max(1, Math.min(13, Number(form.elements.weeks.value) || 4));
  return { start: start, end: addDays(start, weeks * 7 - 1) };
}

const loadTicket = T.newestOnly();
async function load() {
  const isNewest = loadTicket();
  const r = range();
  const filters = new URLSearchParams({ page_size: "500" });
  if (form.elements.project.value) filters.set("project", form.elements.project.value);
  if (form.elements.worker_type.value) filters.set("worker_type", form.elements.worker_type.value);
  const cap = new URLSearchParams(filters); cap.set("start", r.start); cap.set("end", r.end); cap.set("compact", "true");
  const asg = new URLSearchParams(filters); asg.set("from_date", r.start); asg.set("to_date", r.end);
  grid.setAttribute("aria-busy", "true");
  try {
    const [rows, assignments] = await Promise.all([
      getAll("/api/planning/capacity/?" + cap.toString()),
      getAll("/api/planning/assignments/?" + asg.toString()),
    ]);
    if (!isNewest()) return; // another week or filter was asked for meanwhile
    state.days = []; for (let d = r.start; d <= r.end; d = addDays(d, 1)) state.days.push(d);
    // Compact rows: each distinct cell once, and per day of the range the index of its cell.
    rows.forEach(function (row) {
      row.days = row.day_cells.map(function (k, i) { return Object.assign({ date: state.days[i] }, row.cells[k]); });
    });
    state.workers = rows;
    state.assignments = new Map(assignments.map(function (a) { return [a.id, a]; }));
    state.selected.forEach(function (id) { if (!state.assignments.has(id)) state.selected.delete(id); });
    draw();
    follow(assignments);
  } catch (res) {
    if (isNewest()) T.toast(T.errorText(res), "error");
  } finally {
    if (isNewest()) grid.setAttribute("aria-busy", "false");
  }
}

// --- drawing --------------------------------------------------------------------------
function label(a) {
  const project = state.projects.get(a.project);
  const phase = a.phase ? state.phases.get(a.phase) : null;
  return (project ? project.key : "#" + a.project) + (phase ? " · " + phase.name : "") + " · " + Number(a.hours_per_day) + " h";
}

function lanes(list) {
  // Overlapping bars of one worker stack in lanes, first-fit by start date.
  const ends = [];
  list.sort(function (a, b) { return a.start < b.start ? -1 : a.start > b.start ? 1 : a.id - b.id; });
  list.forEach(function (a) {
    let lane = ends.findIndex(function (end) { return end < a.start; });
    if (lane === -1) { lane = ends.length; ends.push(a.end); } else ends[lane] = a.end;
    a._lane = lane;
  });
  return Math.max(1, ends.length);
}

function draw() {
  const width = state.days.length * DAY_W;
  const head = el("div", { class: "cal-row cal-head", role: "row" }, [
    el("div", { class: "cal-name", role: "columnheader", text: gettext("Worker") }),
    el("div", { class: "cal-days", style: { width: width + "px" } }, state.days.map(function (d) {
      const wd = new Date(parseDay(d)).getUTCDay();
      return el("div", {
        class: "cal-day" + (wd === 0 || wd === 6 ? " weekend" : "") + (d === page.today ? " today" : ""),
        role: "columnheader", title: T.formatDate(d),
      }, [el("small", { text: weekday.format(parseDay(d)) }), el("span", { text: wd === 1 || d === state.days[0] ? dayMonth.format(parseDay(d)) : String(new Date(parseDay(d)).getUTCDate()) })]);
    })),
  ]);
  const byWorker = new Map();
  state.assignments.forEach(function (a) {
    if (!byWorker.has(a.worker)) byWorker.set(a.worker, []);
    byWorker.get(a.worker).push(a);
  });
  const rows = state.workers.map(function (row) {
    const list = byWorker.get(row.worker.id) || [];
    const laneCount = lanes(list);
    const cells = row.days.map(function (c) {
      const wd = new Date(parseDay(c.date)).getUTCDay();
      return el("div", {
        class: "cal-cell" + (wd === 0 || wd === 6 ? " weekend" : "") + (c.over_allocated ? " over" : "") + (Number(c.leave) > 0 ? " leave" : ""),
        dataset: { date: c.date, over: c.over_allocated ? "true" : "false" },
        title: interpolate(gettext("%(date)s: %(assigned)s h assigned of %(capacity)s h"), { date: T.formatDate(c.date), assigned: c.assigned, capacity: c.capacity }, true),
      });
    });
    const bars = list.map(function (a) {
      const from = Math.max(0, between(state.days[0], a.start));
      const to = Math.min(state.days.length - 1, between(state.days[0], a.end));
      if (to < 0 || from > state.days.length - 1) return null;
      const bar = el("div", {
        class: "cal-bar" + (state.selected.has(a.id) ? " selected" : ""),
        role: "button", tabindex: "0", "aria-pressed": state.selected.has(a.id) ? "true" : "false",
        dataset: { id: String(a.id), worker: String(a.worker), start: a.start, end: a.end, version: String(a.version) },
        style: { left: from * DAY_W + "px", width: (to - from + 1) * DAY_W - 4 + "px", top: 4 + a._lane * 26 + "px" },
        title: label(a) + " · " + T.formatDate(a.start) + " – " + T.formatDate(a.end),
        "aria-label": label(a) + ", " + T.formatDate(a.start) + " – " + T.formatDate(a.end),
      }, [el("span", { class: "cal-bar-text", text: label(a) }), el("span", { class: "cal-resize", "aria-hidden": "true" })]);
      return bar;
    });
    return el("div", { class: "cal-row", role: "row", dataset: { worker: String(row.worker.id) } }, [
      el("div", { class: "cal-name", role: "rowheader" }, [
        el("span", { text: row.worker.name }),
        el("small", { text: interpolate(gettext("%(assigned)s / %(capacity)s h"), { assigned: row.assigned_hours, capacity: row.capacity_hours }, true) }),
        row.over_allocated_days ? el("small", { class: "over-text", text: interpolate(ngettext("over-allocated on %(n)s day", "over-allocated on %(n)s days", row.over_allocated_days), { n: row.over_allocated_days }, true) }) : null,
      ]),
      el("div", { class: "cal-track", style: { width: width + "px", height: 8 + laneCount * 26 + "px" } }, [
        el("div", { class: "cal-cells" }, cells),
      ].concat(bars)),
    ]);
  });
  grid.replaceChildren.apply(grid, [head].concat(rows));
  document.getElementById("cal-empty").hidden = state.workers.length > 0;
  grid.dataset.rendered = String(Date.now());
  updateToolbar();
  fillCreateForm();
}

function updateToolbar() {
  const n = state.selected.size;
  document.getElementById("cal-selection").textContent = n
    ? interpolate(gettext("%(n)s selected"), { n: n }, true)
    : gettext("Click a bar to select it; Ctrl/Shift-click to select several. Drag to move, drag the right edge to resize.");
  ["cal-left", "cal-right", "cal-clear"].forEach(function (id) { document.getElementById(id).disabled = n === 0; });
}

// --- selection and moves --------------------------------------------------------------
function select(id, additive) {
  if (!additive) state.selected.clear();
  if (additive && state.selected.has(id)) state.selected.delete(id); else state.selected.add(id);
  grid.querySelectorAll(".cal-bar").forEach(function (bar) {
    const on = state.selected.has(Number(bar.dataset.id));
    bar.classList.toggle("selected", on);
    bar.setAttribute("aria-pressed", on ? "true" : "false");
  });
  updateToolbar();
}

// A move: {ids, days (shift), resize (days added to the end), worker (target, single bar only)}
function itemsFor(move, source) {
  return move.ids.map(function (id) {
    const a = source(id);
    if (!a) return null;
    const item = { id: id, version: a.version, end: addDays(a.end, move.days + move.resize) };
    if (!move.resize) item.start = addDays(a.start, move.days);
    if (move.worker && move.worker !== a.worker) item.worker = move.worker;
    if (item.end < (item.start || a.start)) item.end = item.start || a.start;
    return item;
  }).filter(Boolean);
}

async function apply(move, source) {
  const items = itemsFor(move, source || function (id) { return state.assignments.get(id); });
  if (!items.length) return;
  state.lastMove = move;
  items.forEach(function (i) { inFlight.set(i.id, (inFlight.get(i.id) || 0) + 1); });
  let res;
  try {
    res = await api("POST", "/api/planning/assignments/bulk/", items);
  } finally {
    items.forEach(function (i) { const n = inFlight.get(i.id) - 1; if (n > 0) inFlight.set(i.id, n); else inFlight.delete(i.id); });
  }
  if (!res.ok) { T.toast(T.errorText(res), "error"); await load(); return; }
  res.data.succeeded.forEach(function (ok) { mine.add(ok.id + ":" + ok.version); });
  if (res.data.failed.length) showFailures(move, items, res.data);
  else T.toast(interpolate(ngettext("%(n)s assignment moved.", "%(n)s assignments moved.", res.data.succeeded.length), { n: res.data.succeeded.length }, true), "success");
  await load();
}
const mine = new Set(); // "id:version" written by this page, so its own echoes are not news
// Assignments this page is changing right now: their events can arrive before the answer (an
// event leaves at commit), and the reload that follows the answer shows whatever they say.
const inFlight = new Map(); // id -> requests out

function describe(a) {
  if (!a) return "—";
  const worker = state.workers.find(function (w) { return w.worker.id === a.worker; });
  return (worker ? worker.worker.name + ", " : "") + T.formatDate(a.start) + " – " + T.formatDate(a.end);
}

function showFailures(move, items, result) {
  const dialog = document.getElementById("bulk-dialog");
  const byId = new Map(items.map(function (i) { return [i.id, i]; }));
  document.getElementById("bulk-title").textContent = gettext("Some assignments were changed by someone else");
  document.getElementById("bulk-summary").textContent = interpolate(
    gettext("%(ok)s moved, %(failed)s not moved."), { ok: result.succeeded.length, failed: result.failed.length }, true);
  const body = document.getElementById("bulk-failed");
  body.replaceChildren.apply(body, result.failed.map(function (f) {
    const tried = byId.get(f.id) || {};
    const before = state.assignments.get(f.id) || {};
    const attempted = Object.assign({}, before, tried);
    const why = f.code === "version_conflict" ? gettext("Changed meanwhile") : (f.error && f.error.message) || f.code;
    return el("tr", { dataset: { id: String(f.id) } }, [
      el("td", { text: before.id ? label(before) : "#" + f.id }),
      el("td", { class: "conflict-mine", text: describe(attempted) }),
      el("td", { class: "conflict-current", text: describe(f.current) }),
      el("td", { text: why }),
    ]);
  }));
  const current = new Map(result.failed.filter(function (f) { return f.current; }).map(function (f) { return [f.id, f.current]; }));
  const retry = document.getElementById("bulk-retry");
  retry.disabled = current.size === 0;
  retry.onclick = function () {
    dialog.close();
    const again = Object.assign({}, move, { ids: Array.from(current.keys()) });
    apply(again, function (id) { return current.get(id); });
  };
  document.getElementById("bulk-keep").onclick = function () { dialog.close(); load(); };
  if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
  retry.focus();
}

// Pointer drag: move (body) or resize (right edge); the target row decides the worker.
let drag = null;
grid.addEventListener("pointerdown", function (ev) {
  const bar = ev.target.closest(".cal-bar");
  if (!bar || ev.button !== 0) return;
  const id = Number(bar.dataset.id);
  const additive = ev.ctrlKey || ev.metaKey || ev.shiftKey;
  if (additive || !state.selected.has(id)) select(id, additive);
  drag = { id: id, bar: bar, x: ev.clientX, y: ev.clientY, resize: ev.target.classList.contains("cal-resize"), moved: false };
  bar.setPointerCapture(ev.pointerId);
  ev.preventDefault();
});
grid.addEventListener("pointermove", function (ev) {
  if (!drag) return;
  const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
  if (Math.abs(dx) > 3 || Math.abs(dy) > 3) drag.moved = true;
  const days = Math.round(dx / DAY_W);
  if (drag.resize) {
    drag.bar.style.width = Math.max(DAY_W - 4, drag.bar.getBoundingClientRect().width + 0) + "px";
    drag.bar.style.transform = "";
    drag.bar.style.setProperty("--grow", days * DAY_W + "px");
    drag.bar.classList.add("resizing");
  } else {
    grid.querySelectorAll(".cal-bar.selected").forEach(function (b) { b.style.transform = "translate(" + days * DAY_W + "px," + (b === drag.bar ? dy : 0) + "px)"; });
  }
});
grid.addEventListener("pointerup", function (ev) {
  if (!drag) return;
  const d = drag; drag = null;
  grid.querySelectorAll(".cal-bar").forEach(function (b) { b.style.transform = ""; b.classList.remove("resizing"); b.style.removeProperty("--grow"); });
  if (!d.moved) return;
  const days = Math.round((ev.clientX - d.x) / DAY_W);
  d.bar.style.visibility = "hidden";
  const under = document.elementFromPoint(ev.clientX, ev.clientY);
  d.bar.style.visibility = "";
  const row = under && under.closest(".cal-row[data-worker]");
  const worker = row ? Number(row.dataset.worker) : null;
  const ids = d.resize ? [d.id] : Array.from(state.selected);
  const move = { ids: ids, days: d.resize ? 0 : days, resize: d.resize ? days : 0, worker: ids.length === 1 && !d.resize ? worker : null };
  if (move.days || move.resize || (move.worker && move.worker !== state.assignments.get(d.id).worker)) apply(move);
});
grid.addEventListener("keydown", function (ev) {
  const bar = ev.target.closest(".cal-bar");
  if (!bar) return;
  const id = Number(bar.dataset.id);
  if (ev.key === " " || ev.key === "Enter") { ev.preventDefault(); select(id, ev.ctrlKey || ev.metaKey || ev.shiftKey); return; }
  if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
  ev.preventDefault();
  const step = ev.key === "ArrowLeft" ? -1 : 1;
  if (!state.selected.has(id)) select(id, false);
  apply(ev.shiftKey ? { ids: [id], days: 0, resize: step, worker: null } : { ids: Array.from(state.selected), days: step, resize: 0, worker: null });
});
document.getElementById("cal-left").addEventListener("click", function () { apply({ ids: Array.from(state.selected), days: -1, resize: 0, worker: null }); });
document.getElementById("cal-right").addEventListener("click", function () { apply({ ids: Array.from(state.selected), days: 1, resize: 0, worker: null }); });
document.getElementById("cal-clear").addEventListener("click", function () { state.selected.clear(); select(-1, true); state.selected.clear(); updateToolbar(); draw(); });

// --- live: one socket per project on screen ---------------------------------------------
const pill = document.getElementById("live-pill");
let reloadTimer = null;
function scheduleReload() { clearTimeout(reloadTimer); reloadTimer = setTimeout(load, 150); }
function setPill() {
  const all = Array.from(state.sockets.values());
  const live = all.length > 0 && all.every(function (s) { return s.live; });
  pill.classList.toggle("status-live", live); pill.classList.toggle("status-offline", !live);
  pill.dataset.state = live ? "live" : "offline";
  pill.textContent = live ? gettext("Live") : gettext("Offline");
}
function follow(assignments) {
  const wanted = new Set(assignments.map(function (a) { return a.project; }));
  if (form.elements.project.value) wanted.add(Number(form.elements.project.value));
  if (!wanted.size) page.projects.slice(0, 10).forEach(function (p) { wanted.add(p.id); });
  wanted.forEach(function (projectId) {
    if (state.sockets.has(projectId) || state.sockets.size >= 20) return;
    const entry = { live: false };
    entry.socket = liveSocket("/ws/projects/" + projectId + "/", {
      onStatus: function (s) { if (s !== "live") { entry.live = false; setPill(); } },
      onFrame: function (frame) {
        if (frame.type === "ready") {
          // Again after a drop (or a server-side resync): what changed meanwhile never came live.
          if (entry.seenReady) scheduleReload();
          entry.seenReady = true; entry.live = true; setPill(); return;
        }
        if (!/^assignment_/.test(frame.type)) return;
        const data = frame.data || {};
        if (mine.has(data.id + ":" + data.version) || inFlight.has(data.id)) return;
        scheduleReload();
      },
    });
    state.sockets.set(projectId, entry);
  });
  setPill();
}

// --- new assignment -----------------------------------------------------------------------
const create = document.getElementById("cal-create");
function fillCreateForm() {
  const workers = create.elements.worker;
  const keep = workers.value;
  workers.replaceChildren.apply(workers, state.workers.map(function (w) { return el("option", { value: String(w.worker.id), text: w.worker.name }); }));
  if (keep) workers.value = keep;
}
function fillPhases() {
  const project = Number(create.elements.project.value);
  const phases = page.phases.filter(function (p) { return p.project_id === project; });
  create.elements.phase.replaceChildren.apply(create.elements.phase, [el("option", { value: "", text: "—" })].concat(
    phases.map(function (p) { return el("option", { value: String(p.id), text: p.name }); })));
}
create.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const body = {
    worker: Number(create.elements.worker.value), project: Number(create.elements.project.value),
    start: create.elements.start.value, end: create.elements.end.value, hours_per_day: create.elements.hours_per_day.value,
  };
  if (create.elements.phase.value) body.phase = Number(create.elements.phase.value);
  const res = await api("POST", "/api/planning/assignments/", body);
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  mine.add(res.data.id + ":" + res.data.version);
  T.toast(gettext("Assignment added."), "success");
  load();
});

// --- filters ------------------------------------------------------------------------------
page.projects.forEach(function (p) {
  form.elements.project.appendChild(el("option", { value: String(p.id), text: p.key + " · " + p.name }));
  if (p.role === "planner" || p.role === "manager") create.elements.project.appendChild(el("option", { value: String(p.id), text: p.key + " · " + p.name }));
});
if (!create.elements.project.options.length) create.closest("details").hidden = true;
create.elements.project.addEventListener("change", fillPhases);
fillPhases();
page.worker_types.forEach(function (t) { form.elements.worker_type.appendChild(el("option", { value: String(t.id), text: t.name })); });
form.elements.start.value = page.start;
create.elements.start.value = page.start;
create.elements.end.value = addDays(page.start, 4);
form.addEventListener("change", load);
form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
document.getElementById("cal-prev").addEventListener("click", function () { form.elements.start.value = addDays(form.elements.start.value || page.start, -7); load(); });
document.getElementById("cal-next").addEventListener("click", function () { form.elements.start.value = addDays(form.elements.start.value || page.start, 7); load(); });
window.contorlCalendar = { state: state, load: load, apply: apply };
load();
