// Timesheet: the signed-in worker's actual hours of one week. Each row edits through the
// API with its version (409: someone else changed it; the row is read again).
import * as T from "../tasks/common.js";
import { api } from "../js/core/api.js";

(function () {
  const { gettext, interpolate, el } = T;
  const page = T.pageData();
  if (!page.worker) return;
  const week = document.getElementById("ts-week");
  const rowsBox = document.getElementById("ts-rows");
  const add = document.getElementById("ts-add");
  const projects = new Map(page.projects.map(function (p) { return [p.id, p]; }));
  const phases = new Map(page.phases.map(function (p) { return [p.id, p]; }));
  const DAY_MS = 86400000;
  function addDays(iso, n) { const [y, m, d] = iso.split("-").map(Number); return new Date(Date.UTC(y, m - 1, d) + n * DAY_MS).toISOString().slice(0, 10); }

  const loadTicket = T.newestOnly();
  async function load() {
    const isNewest = loadTicket();
    const start = week.elements.start.value;
    const params = new URLSearchParams({ worker: String(page.worker), from_date: start, to_date: addDays(start, 6), page_size: "500" });
    const res = await api("GET", "/api/planning/actuals/?" + params.toString());
    if (!isNewest()) return; // another week was picked meanwhile
    if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
    const list = (res.data.results || res.data).slice().sort(function (a, b) { return a.date < b.date ? -1 : a.date > b.date ? 1 : a.id - b.id; });
    let total = 0;
    rowsBox.replaceChildren.apply(rowsBox, list.length ? list.map(function (a) {
      total += Number(a.hours);
      const project = projects.get(a.project);
      const hours = el("input", { type: "number", min: "0.25", max: "24", step: "0.25", value: a.hours, "aria-label": gettext("Hours"), class: "ts-hours" });
      hours.addEventListener("change", async function () {
        const r = await api("PATCH", "/api/planning/actuals/" + a.id + "/", { version: a.version, hours: hours.value });
        if (!r.ok) T.toast(r.status === 409 ? gettext("Someone else changed this entry; it shows their value now.") : T.errorText(r), "error");
        load();
      });
      return el("tr", { dataset: { id: String(a.id) } }, [
        el("td", {}, el("time", { datetime: a.date, text: T.formatDate(a.date) })),
        el("td", { text: project ? project.key + " · " + project.name : "#" + a.project }),
        el("td", { text: a.phase && phases.get(a.phase) ? phases.get(a.phase).name : "—" }),
        el("td", {}, hours),
        el("td", { text: a.cost === null || a.cost === undefined ? "—" : a.cost }),
        el("td", { text: a.note || "" }),
        el("td", {}, el("button", {
          type: "button", text: gettext("Delete"), onclick: async function () {
            if (!window.confirm(gettext("Delete this entry?"))) return;
            const r = await api("DELETE", "/api/planning/actuals/" + a.id + "/?version=" + a.version);
            if (!r.ok) T.toast(T.errorText(r), "error");
            load();
          },
        })),
      ]);
    }) : [el("tr", {}, el("td", { colspan: "7", class: "muted", text: gettext("No hours logged this week.") }))]);
    document.getElementById("ts-total").textContent = interpolate(gettext("Total: %(h)s h"), { h: total.toFixed(2) }, true);
  }

  function fillPhases() {
    const project = Number(add.elements.project.value);
    add.elements.phase.replaceChildren.apply(add.elements.phase, [el("option", { value: "", text: "—" })].concat(
      page.phases.filter(function (p) { return p.project_id === project; }).map(function (p) { return el("option", { value: String(p.id), text: p.name }); })));
  }
  page.projects.forEach(function (p) { add.elements.project.appendChild(el("option", { value: String(p.id), text: p.key + " · " + p.name })); });
  add.elements.project.addEventListener("change", fillPhases);
  fillPhases();
  add.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = { worker: page.worker, project: Number(add.elements.project.value), date: add.elements.date.value, hours: add.elements.hours.value, note: add.elements.note.value };
    if (add.elements.phase.value) body.phase = Number(add.elements.phase.value);
    const res = await api("POST", "/api/planning/actuals/", body);
    if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
    T.toast(gettext("Hours logged."), "success");
    load();
  });
  week.elements.start.value = page.start;
  add.elements.date.value = page.today;
  week.addEventListener("change", load);
  document.getElementById("ts-prev").addEventListener("click", function () { week.elements.start.value = addDays(week.elements.start.value, -7); load(); });
  document.getElementById("ts-next").addEventListener("click", function () { week.elements.start.value = addDays(week.elements.start.value, 7); load(); });
  load();
})();
