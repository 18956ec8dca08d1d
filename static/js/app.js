// CONTORL shell: hamburger menu, language switcher, CSRF-aware fetch helper.
(function () {
  "use strict";
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

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  const gettext = window.gettext || function (s) { return s; };

  // api(method, url, body) -> {ok, status, data}; never throws on HTTP errors. A request that
  // never reached the server (offline, server down) answers status 0 with code "network" and a
  // message meant for people, not the browser's "TypeError: Failed to fetch".
  async function api(method, url, body, options) {
    const init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() } };
    if (body instanceof FormData) { init.body = body; }
    else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    Object.assign(init, options || {});
    let response;
    try { response = await fetch(url, init); }
    catch (err) {
      const write = !/^(GET|HEAD)$/i.test(method);
      const offline = navigator.onLine === false;
      const message = write
        ? (offline ? gettext("You are offline; the change was not saved") : gettext("The server could not be reached; the change was not saved"))
        : (offline ? gettext("You are offline; the page could not be updated") : gettext("The server could not be reached; the page could not be updated"));
      return { ok: false, status: 0, data: { error: { code: "network", message: message, details: { offline: offline } } } };
    }
    let data = null;
    const text = await response.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = text; } }
    return { ok: response.ok, status: response.status, data: data };
  }

  // A reconnecting WebSocket with backoff 1, 2, 4 ... 30 s; calls onStatus("live"|"offline").
  function liveSocket(path, handlers) {
    let socket = null, attempt = 0, stopped = false, everOpened = false;
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    function connect() {
      socket = new WebSocket(url);
      socket.onopen = function () {
        const reconnected = attempt > 0 || everOpened; attempt = 0; everOpened = true;
        if (handlers.onStatus) handlers.onStatus("live");
        if (handlers.onOpen) handlers.onOpen(socket, reconnected);
      };
      socket.onmessage = function (ev) {
        let frame; try { frame = JSON.parse(ev.data); } catch (e) { return; }
        if (frame.type === "ping") { socket.send(JSON.stringify({ type: "pong" })); return; }
        if (handlers.onFrame) handlers.onFrame(frame, socket);
      };
      socket.onclose = function (ev) {
        if (handlers.onStatus) handlers.onStatus("offline", ev.code);
        if (stopped || ev.code === 4401 || ev.code === 4403 || ev.code === 4404) return;
        const delay = Math.min(30, Math.pow(2, attempt)) * 1000; attempt += 1;
        setTimeout(connect, delay);
      };
    }
    connect();
    return {
      send: function (frame) { if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); return true; } return false; },
      close: function () { stopped = true; if (socket) socket.close(); },
      reopen: function () { if (stopped) { stopped = false; attempt = 0; connect(); } },
      get socket() { return socket; },
    };
  }

  // Dates and times on every page (rooms aside) in one format: the page's language through
  // Intl, so an English page reads "Dec 1, 2026, 2:50 PM" and a zh-Hant one "2026年12月1日 下午2:50".
  // Date-only values ("2026-12-15") are calendar days: formatted in UTC so no time zone shifts them.
  function pageLocale() { return document.documentElement.lang || undefined; }
  function formatDateTime(value) {
    if (value === null || value === undefined || value === "") return "";
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    return new Intl.DateTimeFormat(pageLocale(), { dateStyle: "medium", timeStyle: "short" }).format(d);
  }
  function formatDate(value) {
    if (value === null || value === undefined || value === "") return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
    const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    return new Intl.DateTimeFormat(pageLocale(), m ? { dateStyle: "medium", timeZone: "UTC" } : { dateStyle: "medium" }).format(d);
  }
  // Server-rendered <time datetime="..." data-format="datetime|date"> get the same format.
  function formatTimes(root) {
    (root || document).querySelectorAll("time[data-format]").forEach(function (node) {
      const raw = node.getAttribute("datetime");
      node.textContent = node.dataset.format === "date" ? formatDate(raw) : formatDateTime(raw);
    });
  }
  formatTimes(document);

  window.contorl = {
    api: api, csrfToken: csrfToken, liveSocket: liveSocket,
    formatDateTime: formatDateTime, formatDate: formatDate, formatTimes: formatTimes,
  };
})();
