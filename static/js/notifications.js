// The bell on every signed-in page: live unread count (#bell-count) and a dropdown of
// recent items (#bell-dropdown), fed by /ws/notifications/ (frames: unread, notification,
// unread_count; see notifications/consumers.py) and the notifications REST API.
import { api } from "./core/api.js";
import { formatDateTime } from "./core/dates.js";
import { el } from "./core/dom.js";
import { gettext } from "./core/i18n.js";
import { liveSocket } from "./core/live.js";

const MAX_ITEMS = 10;

(function () {
  const bell = document.getElementById("bell");
  const badge = document.getElementById("bell-count");
  const dropdown = document.getElementById("bell-dropdown");
  if (!bell || !badge || !dropdown) return;

  // The dropdown's styles live with the notifications app; load them next to this script.
  document.head.appendChild(el("link", { rel: "stylesheet", href: new URL("../notifications/bell.css", import.meta.url).href }));

  let count = 0;
  let items = [];          // newest first, de-duplicated by id
  let fetchedRecent = false;

  function setCount(n) {
    count = Math.max(0, n | 0);
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.dataset.count = String(count);
    badge.hidden = count === 0;
    bell.setAttribute("aria-label", count ? gettext("Notifications") + " (" + count + ")" : gettext("Notifications"));
  }

  function merge(list) {
    const byId = new Map(items.map(function (n) { return [n.id, n]; }));
    list.forEach(function (n) { byId.set(n.id, Object.assign({}, byId.get(n.id) || {}, n)); });
    items = Array.from(byId.values()).sort(function (a, b) {
      return (b.created_at || "").localeCompare(a.created_at || "") || b.id - a.id;
    }).slice(0, MAX_ITEMS);
  }

  function markRead(ids) {
    items.forEach(function (n) { if (ids === "all" || ids.indexOf(n.id) !== -1) n.is_read = true; });
  }

  function render() {
    if (dropdown.hidden) return;
    dropdown.textContent = "";
    const head = el("div", { class: "bell-head" });
    head.appendChild(el("span", { text: gettext("Notifications") }));
    if (count > 0) {
      const all = el("button", { class: "link-button", text: gettext("Mark all as read") });
      all.type = "button";
      all.id = "bell-read-all";
      all.addEventListener("click", async function () {
        const res = await api("POST", "/api/notifications/read-all/");
        if (res.ok) { markRead("all"); setCount(res.data.count); render(); }
      });
      head.appendChild(all);
    }
    dropdown.appendChild(head);
    if (!items.length) {
      dropdown.appendChild(el("div", { class: "bell-empty", text: gettext("No notifications yet.") }));
    } else {
      const list = el("ul");
      items.forEach(function (n) {
        const li = el("li", { class: n.is_read ? "read" : "unread" });
        const a = el("a");
        a.href = n.link || "/notifications/";
        a.dataset.id = n.id;
        a.appendChild(el("span", { class: "bell-title", text: n.title }));
        const when = n.created_at ? formatDateTime(n.created_at) : "";
        const who = n.actor ? n.actor.display_name + " · " : "";
        a.appendChild(el("span", { class: "bell-meta", text: who + when }));
        a.addEventListener("click", function (ev) {
          if (n.is_read) return;
          ev.preventDefault();
          // Mark read first (keepalive survives the navigation), then follow the link.
          api("POST", "/api/notifications/" + n.id + "/read/", undefined, { keepalive: true })
            .finally(function () { location.href = a.href; });
        });
        li.appendChild(a);
        list.appendChild(li);
      });
      dropdown.appendChild(list);
    }
    const foot = el("div", { class: "bell-foot" });
    const more = el("a", { text: gettext("See all notifications") });
    more.href = "/notifications/";
    foot.appendChild(more);
    dropdown.appendChild(foot);
  }

  async function open() {
    dropdown.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    render();
    if (!fetchedRecent) {
      const res = await api("GET", "/api/notifications/?page_size=" + MAX_ITEMS);
      if (res.ok && res.data && Array.isArray(res.data.results)) { fetchedRecent = true; merge(res.data.results); render(); }
    }
  }

  function close() {
    dropdown.hidden = true;
    bell.setAttribute("aria-expanded", "false");
  }

  bell.setAttribute("aria-haspopup", "true");
  bell.setAttribute("aria-controls", "bell-dropdown");
  bell.setAttribute("aria-expanded", "false");
  bell.addEventListener("click", function (ev) {
    ev.preventDefault();
    if (dropdown.hidden) open(); else close();
  });
  document.addEventListener("click", function (ev) {
    if (!dropdown.hidden && !dropdown.contains(ev.target) && !bell.contains(ev.target)) close();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !dropdown.hidden) { close(); bell.focus(); }
  });

  liveSocket("/ws/notifications/", {
    onFrame: function (frame) {
      const data = frame.data || {};
      if (frame.type === "unread") {
        setCount(data.count);
        merge(data.items || []);
      } else if (frame.type === "notification") {
        merge([data]);
        setCount(data.unread_count);
        document.dispatchEvent(new CustomEvent("contorl:notification", { detail: data }));
      } else if (frame.type === "unread_count") {
        markRead(data.read === "all" ? "all" : (data.read || []));
        setCount(data.count);
      } else {
        return;
      }
      render();
    },
  });
})();
