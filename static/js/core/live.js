// A reconnecting WebSocket with backoff 1, 2, 4 ... 30 s; calls onStatus("live"|"offline").
// Closes with 4401/4403/4404 (signed out, not allowed, gone) are final: no reconnect.
const FINAL_CLOSE_CODES = [4401, 4403, 4404];

export function liveSocket(path, handlers) {
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
      let frame; try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === "ping") { socket.send(JSON.stringify({ type: "pong" })); return; }
      if (handlers.onFrame) handlers.onFrame(frame, socket);
    };
    socket.onclose = function (ev) {
      if (handlers.onStatus) handlers.onStatus("offline", ev.code);
      if (stopped || FINAL_CLOSE_CODES.includes(ev.code)) return;
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
