// The one fetch wrapper of every page: same-origin JSON with the CSRF token.
import { gettext } from "./i18n.js";

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// api(method, url, body) -> {ok, status, data}; never throws on HTTP errors. A request that
// never reached the server (offline, server down) answers status 0 with code "network" and a
// message meant for people, not the browser's "TypeError: Failed to fetch".
export async function api(method, url, body, options) {
  const init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() } };
  if (body instanceof FormData) { init.body = body; }
  else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  Object.assign(init, options || {});
  let response;
  try { response = await fetch(url, init); }
  catch {
    const write = !/^(GET|HEAD)$/i.test(method);
    const offline = navigator.onLine === false;
    const message = write
      ? (offline ? gettext("You are offline; the change was not saved") : gettext("The server could not be reached; the change was not saved"))
      : (offline ? gettext("You are offline; the page could not be updated") : gettext("The server could not be reached; the page could not be updated"));
    return { ok: false, status: 0, data: { error: { code: "network", message: message, details: { offline: offline } } } };
  }
  let data = null;
  const text = await response.text();
  if (text) { try { data = JSON.parse(text); } catch { data = text; } }
  return { ok: response.ok, status: response.status, data: data };
}

// The error envelope's message, or `fallback` when the answer carried none.
export function errorMessage(res, fallback) {
  return (res && res.data && res.data.error && res.data.error.message) || fallback;
}
