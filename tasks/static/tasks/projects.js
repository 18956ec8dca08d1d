// Projects list: create a project (optionally from a template), then open its board.
(function () {
  "use strict";
  const T = window.contorlTasks;
  const form = document.getElementById("new-project");
  if (!form) return;
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const body = { name: form.elements.name.value.trim(), key: form.elements.key.value.trim().toUpperCase() };
    if (form.elements.template.value) body.template = Number(form.elements.template.value);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const res = await window.contorl.api("POST", "/api/projects/", body);
    button.disabled = false;
    if (!res.ok) { T.toast(T.errorText(res), "error"); return; }
    window.location.href = "/projects/" + res.data.id + "/board/";
  });
})();
