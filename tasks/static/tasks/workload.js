// Workload heatmap: users x weeks, each cell coloured by load (hours / capacity).
import * as T from "./common.js";
import { api } from "../js/core/api.js";

const { gettext, el } = T;
const form = document.getElementById("workload-filters");
const grid = document.getElementById("heatmap");

function level(load, hours) {
  if (load === null || load === undefined) return hours > 0 ? "x" : "0";
  if (load <= 0) return "0";
  if (load < 0.5) return "1";
  if (load < 0.8) return "2";
  if (load <= 1.0) return "3";
  if (load <= 1.2) return "4";
  return "5";
}

function draw(body) {
  grid.style.gridTemplateColumns = "minmax(110px, 160px) repeat(" + body.weeks.length + ", minmax(48px, 1fr))";
  const nodes = [el("div", { class: "hm-head", role: "columnheader", text: gettext("Person") })];
  body.weeks.forEach(function (w, i) {
    nodes.push(el("div", { class: "hm-head", role: "columnheader", title: body.week_starts ? body.week_starts[i] : w, text: w.replace(/^\d{4}-/, "") }));
  });
  body.rows.forEach(function (row) {
    nodes.push(el("div", { class: "hm-user", role: "rowheader" }, [
      el("span", { text: row.user.display_name }),
      row.user.department_name ? el("small", { text: row.user.department_name }) : null,
    ]));
    row.cells.forEach(function (c) {
      const pct = c.load === null ? "—" : Math.round(c.load * 100) + "%";
      nodes.push(el("div", {
        class: "hm-cell load-" + level(c.load, c.hours), role: "cell", tabindex: "0",
        dataset: { week: c.week, load: c.load === null ? "" : String(c.load) },
        title: row.user.display_name + " · " + c.week + ": " + c.hours + " h / " + c.capacity + " h (" + pct + ")",
        "aria-label": row.user.display_name + " " + c.week + ": " + c.hours + " / " + c.capacity + " h",
        text: c.hours ? String(Math.round(c.hours)) : "",
      }));
    });
  });
  grid.replaceChildren.apply(grid, nodes);
  document.getElementById("heatmap-empty").hidden = body.rows.length > 0;
  grid.dataset.rendered = "true";
}

const loadTicket = T.newestOnly();
async function load() {
  const isNewest = loadTicket();
  const params = new URLSearchParams();
  if (form.elements.department && form.elements.department.value) params.set("department", form.elements.department.value);
  if (form.elements.start.value) params.set("start", form.elements.start.value);
  params.set("weeks", form.elements.weeks.value || "8");
  const res = await api("GET", "/api/workload/?" + params.toString());
  if (!isNewest()) return; // a filter changed again while this week range was on its way
  if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
  draw(res.data);
}

form.elements.start.value = T.todayISO();
form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
form.addEventListener("change", load);
load();
