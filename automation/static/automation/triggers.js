// Trigger list, editor and execution log of one project (talks to /api/.../triggers/).
import { api } from "../js/core/api.js";
import { formatDateTime } from "../js/core/dates.js";
import { el } from "../js/core/dom.js";
import { gettext } from "../js/core/i18n.js";
import { newestOnly } from "../js/core/newest.js";

(function () {
  const dataEl = document.getElementById("triggers-data");
  if (!dataEl) return;
  const page = JSON.parse(dataEl.textContent);
  const OUTCOMES = {
    queued: gettext("Queued"), running: gettext("Running"), success: gettext("Succeeded"),
    retrying: gettext("Failed, will retry"), failed: gettext("Permanently failed"), skipped: gettext("Skipped"),
  };
  const byId = {};
  page.triggers.forEach(function (tr) { byId[tr.id] = tr; });
  const editor = document.getElementById("trigger-editor");
  const form = document.getElementById("trigger-form");
  const errorBox = document.getElementById("tf-error");
  let logTrigger = null;

  function showError(data) {
    const err = (data && data.error) || { message: gettext("Something went wrong.") };
    let text = err.message;
    if (err.details && err.code === "validation_error") {
      text = Object.keys(err.details).map(function (k) { return k + ": " + [].concat(err.details[k]).join(" "); }).join("\n");
    }
    errorBox.textContent = text;
    errorBox.hidden = false;
  }

  function openEditor(trigger) {
    errorBox.hidden = true;
    document.getElementById("tf-id").value = trigger ? trigger.id : "";
    document.getElementById("tf-version").value = trigger ? trigger.version : "";
    document.getElementById("tf-name").value = trigger ? trigger.name : "";
    document.getElementById("tf-event").value = trigger ? trigger.event : "task_created";
    document.getElementById("tf-active").checked = trigger ? trigger.is_active : true;
    document.getElementById("tf-conditions").value = JSON.stringify(trigger ? trigger.conditions : [], null, 2);
    if (trigger) document.getElementById("tf-actions").value = JSON.stringify(trigger.actions, null, 2);
    const secretLine = document.getElementById("tf-secret-line");
    secretLine.hidden = !(trigger && trigger.secret);
    document.getElementById("tf-secret").textContent = trigger && trigger.secret ? trigger.secret : "";
    document.getElementById("trigger-editor-title").textContent = trigger ? gettext("Edit trigger") : gettext("New trigger");
    editor.hidden = false;
    document.getElementById("tf-name").focus();
  }

  function parseJson(id, label) {
    try { return JSON.parse(document.getElementById(id).value || "[]"); }
    catch (e) { throw new Error(label + ": " + gettext("not valid JSON") + " (" + e.message + ")"); }
  }

  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      errorBox.hidden = true;
      let body;
      try {
        body = {
          name: document.getElementById("tf-name").value,
          event: document.getElementById("tf-event").value,
          is_active: document.getElementById("tf-active").checked,
          conditions: parseJson("tf-conditions", gettext("Conditions")),
          actions: parseJson("tf-actions", gettext("Actions")),
        };
      } catch (e) { errorBox.textContent = e.message; errorBox.hidden = false; return; }
      const id = document.getElementById("tf-id").value;
      let res;
      if (id) {
        body.version = Number(document.getElementById("tf-version").value);
        res = await api("PATCH", "/api/triggers/" + id + "/", body);
      } else {
        res = await api("POST", "/api/projects/" + page.project.id + "/triggers/", body);
      }
      if (!res.ok) {
        if (res.status === 409) { errorBox.textContent = gettext("Someone else changed this trigger first. Reload and try again."); errorBox.hidden = false; return; }
        showError(res.data); return;
      }
      location.reload();
    });
    document.getElementById("tf-cancel").addEventListener("click", function () { editor.hidden = true; });
  }
  const newButton = document.getElementById("trigger-new");
  if (newButton) newButton.addEventListener("click", function () { openEditor(null); });

  function fmt(ts) { return ts ? formatDateTime(ts) : ""; }

  const logTicket = newestOnly();
  async function loadLog(trigger) {
    const isNewest = logTicket();
    logTrigger = trigger;
    document.getElementById("execution-log").hidden = false;
    document.getElementById("log-trigger-name").textContent = trigger.name;
    const res = await api("GET", "/api/triggers/" + trigger.id + "/executions/?page_size=100");
    if (!isNewest()) return; // another trigger's log was opened meanwhile
    const rows = document.getElementById("log-rows");
    rows.textContent = "";
    if (!res.ok) { document.getElementById("log-empty").hidden = false; return; }
    const items = res.data.results || [];
    document.getElementById("log-empty").hidden = items.length > 0;
    const latest = {};
    items.forEach(function (r) { if (!latest[r.run_id] || latest[r.run_id].attempt < r.attempt) latest[r.run_id] = r; });
    items.forEach(function (r) {
      const tr = el("tr", { "data-run": r.run_id, "data-attempt": r.attempt });
      tr.appendChild(el("td", { title: r.run_id }, r.run_id.slice(0, 8) + (r.replay ? " ↻" : "")));
      tr.appendChild(el("td", {}, r.attempt));
      const taskCell = el("td");
      if (r.task) taskCell.appendChild(el("a", { href: "/tasks/" + r.task + "/" }, "#" + r.task));
      tr.appendChild(taskCell);
      tr.appendChild(el("td", {}, fmt(r.started_at)));
      tr.appendChild(el("td", {}, fmt(r.finished_at)));
      tr.appendChild(el("td", { class: "outcome-" + r.outcome }, OUTCOMES[r.outcome] || r.outcome));
      tr.appendChild(el("td", { class: "err" }, r.error));
      const act = el("td");
      if (page.is_owner && r.outcome === "failed" && latest[r.run_id] === r) {
        const b = el("button", { type: "button", class: "button", "data-replay": r.id }, gettext("Replay"));
        act.appendChild(b);
      }
      tr.appendChild(act);
      rows.appendChild(tr);
    });
  }

  document.getElementById("log-rows").addEventListener("click", async function (ev) {
    const b = ev.target.closest("[data-replay]");
    if (!b || !logTrigger) return;
    b.disabled = true;
    const res = await api("POST", "/api/triggers/" + logTrigger.id + "/executions/" + b.getAttribute("data-replay") + "/replay/", {});
    if (!res.ok) { alert((res.data && res.data.error && res.data.error.message) || gettext("Replay failed.")); }
    loadLog(logTrigger);
  });
  document.getElementById("log-refresh").addEventListener("click", function () { if (logTrigger) loadLog(logTrigger); });

  document.getElementById("trigger-items").addEventListener("click", async function (ev) {
    const b = ev.target.closest("[data-action]");
    if (!b) return;
    const trigger = byId[b.getAttribute("data-id")];
    if (!trigger) return;
    const action = b.getAttribute("data-action");
    if (action === "edit") openEditor(trigger);
    else if (action === "log") loadLog(trigger);
    else if (action === "webhooks") {
      const enable = !trigger.webhooks_enabled;
      if (enable) {
        const urls = trigger.actions.filter(function (a) { return a.type === "webhook"; }).map(function (a) { return a.url; });
        if (!confirm(gettext("Send this project's task data to these addresses?") + "\n\n" + urls.join("\n"))) return;
      }
      b.disabled = true;
      const res = await api("PATCH", "/api/triggers/" + trigger.id + "/", { version: trigger.version, webhooks_enabled: enable });
      if (res.ok) location.reload();
      else { b.disabled = false; alert((res.data && res.data.error && res.data.error.message) || gettext("Could not change the webhooks.")); }
    }
    else if (action === "delete") {
      if (!confirm(gettext("Delete this trigger and its execution log?"))) return;
      const res = await api("DELETE", "/api/triggers/" + trigger.id + "/");
      if (res.ok) location.reload(); else alert((res.data && res.data.error && res.data.error.message) || gettext("Delete failed."));
    }
  });
  if (location.hash.indexOf("#trigger-") === 0) {
    const trigger = byId[location.hash.slice(9)];
    if (trigger) loadLog(trigger);
  }
})();
