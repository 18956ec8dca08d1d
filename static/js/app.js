// CONTORL shell on every page: hamburger menu, language switcher, server times in the
// page's format. Page scripts import the shared helpers from ./core/ directly; the
// window.contorl handle stays for support staff and the browser tests.
import { api, csrfToken } from "./core/api.js";
import { formatDate, formatDateTime, formatTimes } from "./core/dates.js";
import { liveSocket } from "./core/live.js";

const toggle = document.getElementById("nav-toggle");
if (toggle) {
  toggle.addEventListener("click", function () {
    const open = document.body.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
}
const langSelect = document.getElementById("lang-select");
if (langSelect) {
  langSelect.addEventListener("change", function () { langSelect.form.submit(); });
}

formatTimes(document);

window.contorl = {
  api: api, csrfToken: csrfToken, liveSocket: liveSocket,
  formatDateTime: formatDateTime, formatDate: formatDate, formatTimes: formatTimes,
};
