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

  // api(method, url, body) -> {ok, status, data}; never throws on HTTP errors.
  async function api(method, url, body, options) {
    const init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() } };
    if (body instanceof FormData) { init.body = body; }
    else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    Object.assign(init, options || {});
    let response;
    try { response = await fetch(url, init); }
    catch (err) { return { ok: false, status: 0, data: { error: { code: "network", message: String(err), details: {} } } }; }
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

  window.contorl = { api: api, csrfToken: csrfToken, liveSocket: liveSocket };
})();
