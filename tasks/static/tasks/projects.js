// Projects list: create a project (optionally from a template), then open its board.
import * as T from "./common.js";
import { api } from "../js/core/api.js";

(function () {
  const form = document.getElementById("new-project");
  if (!form) return;
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = { name: form.elements.name.value.trim(), key: form.elements.key.value.trim().toUpperCase() };
    if (form.elements.template.value) body.template = Number(form.elements.template.value);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const res = await api("POST", "/api/projects/", body);
    button.disabled = false;
    if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
    window.location.href = "/projects/" + res.data.id + "/board/";
  });
})();
