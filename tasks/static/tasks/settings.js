// Project settings: members and roles, statuses (drag to reorder, colours), custom fields,
// save as template. Every change goes through the REST API with its version.
import * as T from "./common.js";
import { api } from "../js/core/api.js";

const { gettext, el } = T;
const data = T.pageData();
const pid = data.project.id;
const owner = data.is_owner;
const roles = [["owner", gettext("Owner")], ["member", gettext("Member")], ["viewer", gettext("Viewer")]];
const types = { text: gettext("Text"), number: gettext("Number"), date: gettext("Date"), select: gettext("Select"), user: gettext("User"), formula: gettext("Formula") };

async function check(res, okMessage) {
  if (!res.ok) { T.toast(T.errorText(res), "error"); return false; }
  if (okMessage) T.toast(okMessage, "success");
  return true;
}
const reload = function () { window.location.reload(); };

// members
function members() {
  const list = document.getElementById("members");
  list.replaceChildren.apply(list, data.member_rows.map(function (m) {
    const select = el("select", { "aria-label": gettext("Role of") + " " + m.username, disabled: !owner }, roles.map(function (r) {
      return el("option", { value: r[0], text: r[1], selected: r[0] === m.role });
    }));
    select.addEventListener("change", async function () {
      const res = await api("PATCH", "/api/projects/" + pid + "/members/" + m.user + "/", { role: select.value, version: m.version });
      if (await check(res, gettext("Role changed."))) { m.version = res.data.version; m.role = res.data.role; }
      else select.value = m.role;
    });
    return el("li", {}, [
      el("span", { text: m.display_name + " (@" + m.username + ")" }),
      el("span", { class: "actions" }, [select, owner ? el("button", { type: "button", text: gettext("Remove"), onclick: async function () {
        if (await check(await api("DELETE", "/api/projects/" + pid + "/members/" + m.user + "/"))) reload();
      } }) : null]),
    ]);
  }));
}
const memberForm = document.getElementById("member-form");
if (memberForm) memberForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const res = await api("POST", "/api/projects/" + pid + "/members/", { user: Number(memberForm.elements.user.value), role: memberForm.elements.role.value });
  if (await check(res)) reload();
});

// statuses
function statuses() {
  const list = document.getElementById("statuses");
  list.replaceChildren.apply(list, data.statuses.map(function (s) {
    const name = el("input", { value: s.name, maxlength: "80", "aria-label": gettext("Name"), disabled: !owner });
    const color = el("input", { type: "color", value: s.color, "aria-label": gettext("Colour"), disabled: !owner });
    const done = el("input", { type: "checkbox", checked: s.is_done, "aria-label": gettext("Done column"), disabled: !owner });
    async function save(fields) {
      const res = await api("PATCH", "/api/statuses/" + s.id + "/", Object.assign({ version: s.version }, fields));
      if (await check(res, gettext("Saved."))) Object.assign(s, res.data);
      else reload();
    }
    name.addEventListener("change", function () { save({ name: name.value }); });
    color.addEventListener("change", function () { save({ color: color.value }); });
    done.addEventListener("change", function () { save({ is_done: done.checked }); });
    return el("li", { dataset: { statusId: s.id } }, [
      owner ? el("span", { class: "drag-handle", "aria-hidden": "true", text: "⋮⋮" }) : null,
      name, color, el("label", { class: "inline" }, [gettext("Done"), done]),
      owner ? el("button", { type: "button", text: gettext("Delete"), onclick: async function () {
        if (await check(await api("DELETE", "/api/statuses/" + s.id + "/"))) reload();
      } }) : null,
    ]);
  }));
  if (owner && window.Sortable) {
    window.Sortable.create(list, { handle: ".drag-handle", animation: 120, onEnd: async function () {
      const ids = Array.from(list.children).map(function (li) { return Number(li.dataset.statusId); });
      for (let i = 0; i < ids.length; i++) {
        const s = data.statuses.find(function (x) { return x.id === ids[i]; });
        if (s.order === i) continue;
        const res = await api("PATCH", "/api/statuses/" + s.id + "/", { order: i, version: s.version });
        if (!(await check(res))) { reload(); return; }
        Object.assign(s, res.data);
      }
      T.toast(gettext("Order saved."), "success");
    } });
  }
}
const statusForm = document.getElementById("status-form");
if (statusForm) statusForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const res = await api("POST", "/api/projects/" + pid + "/statuses/", {
    name: statusForm.elements.name.value, color: statusForm.elements.color.value,
    is_done: statusForm.elements.is_done.checked, order: data.statuses.length,
  });
  if (await check(res)) reload();
});

// custom fields
function fields() {
  const list = document.getElementById("fields");
  list.replaceChildren.apply(list, data.custom_field_rows.length ? data.custom_field_rows.map(function (f) {
    return el("li", {}, [
      el("span", {}, [el("strong", { text: f.name }), " ", el("code", { text: "{" + f.key + "}" }), " · " + (types[f.type] || f.type),
        f.formula ? el("code", { text: " = " + f.formula }) : null,
        f.options && f.options.length ? " · " + f.options.join(", ") : null]),
      owner ? el("button", { type: "button", class: "field-edit", text: gettext("Edit"), onclick: function () { editField(f); } }) : null,
      owner ? el("button", { type: "button", text: gettext("Delete"), onclick: async function () {
        if (await check(await api("DELETE", "/api/custom-fields/" + f.id + "/"))) reload();
      } }) : null,
    ]);
  }) : [el("li", { class: "muted", text: gettext("No custom fields.") })]);
}
const fieldForm = document.getElementById("field-form");
let editing = null;  // the field being edited in the form, or null when adding one
function editField(f) {
  editing = f;
  const e = fieldForm.elements;
  e.key.value = f.key; e.key.readOnly = true;  // the key is what formulas and stored values use
  e.name.value = f.name; e.type.value = f.type;
  e.options.value = (f.options || []).join(", "); e.formula.value = f.formula || "";
  fieldForm.querySelector("button[type=submit]").textContent = gettext("Save field");
  e.name.focus();
}
if (fieldForm) fieldForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const e = fieldForm.elements;
  const body = { name: e.name.value, type: e.type.value };
  if (!editing) body.key = e.key.value;
  body.options = e.type.value === "select" ? e.options.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : [];
  body.formula = e.type.value === "formula" ? e.formula.value : "";
  if (editing) body.version = editing.version;
  const res = editing
    ? await api("PATCH", "/api/custom-fields/" + editing.id + "/", body)
    : await api("POST", "/api/projects/" + pid + "/custom-fields/", body);
  if (!res.ok && res.data && res.data.error && res.data.error.code === "formula_cycle") {
    T.toast(gettext("Refused: formula cycle") + " " + (res.data.error.details.cycle || []).join(" → "), "error");
    return;
  }
  if (await check(res)) reload();
});

// template
const templateForm = document.getElementById("template-form");
if (templateForm) templateForm.addEventListener("submit", async function (ev) {
  ev.preventDefault();
  const res = await api("POST", "/api/projects/" + pid + "/save-as-template/", { name: templateForm.elements.name.value });
  if (await check(res, gettext("Template saved."))) templateForm.reset();
});

members();
statuses();
fields();
