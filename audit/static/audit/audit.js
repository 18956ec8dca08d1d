// Audit trail page: the "Verify integrity" button asks the server to recompute the chain.
import { api } from "../js/core/api.js";
import { gettext, interpolate } from "../js/core/i18n.js";

(function () {
  const button = document.getElementById("audit-verify");
  const out = document.getElementById("audit-verify-result");
  if (!button || !out) return;

  button.addEventListener("click", async function () {
    button.disabled = true;
    out.hidden = false;
    out.className = "card audit-verify";
    out.textContent = gettext("Verifying…");
    const res = await api("GET", "/api/audit-logs/verify/");
    button.disabled = false;
    if (!res.ok) {
      out.className = "card audit-verify bad";
      out.textContent = (res.data && res.data.error && res.data.error.message) || gettext("Verification failed.");
      return;
    }
    const r = res.data;
    const lines = [];
    if (r.broken) {
      lines.push(interpolate(gettext("Chain BROKEN at entry #%s (%s): %s"), [r.broken.id, r.broken.event_type, r.broken.reason]));
      lines.push(interpolate(gettext("%s entries before it are intact."), [r.checked]));
    } else {
      lines.push(interpolate(gettext("Chain intact: %s entries checked."), [r.checked]));
    }
    // Rows wait for the sealer for a moment after their transaction commits.
    if (r.unsealed && r.unsealed.count) lines.push(interpolate(gettext("%s entries not sealed yet."), [r.unsealed.count]));
    const anchor = r.anchor || {};
    if (anchor.status === "ok") {
      lines.push(interpolate(gettext("Matches the anchor of %s."), [anchor.anchored_at]));
    } else if (anchor.status === "missing") {
      lines.push(gettext("No anchor yet: deleting the newest entries would go unnoticed."));
    } else if (anchor.status) {
      lines.push(gettext("Anchor check failed:") + " " + anchor.detail);
    }
    if (r.triggers !== "ok") lines.push(gettext("Append-only triggers are missing:") + " " + r.triggers);
    out.className = "card audit-verify " + (r.ok && r.triggers === "ok" ? "ok" : "bad");
    out.textContent = "";
    lines.forEach(function (line) { const p = document.createElement("p"); p.textContent = line; out.appendChild(p); });
    if (r.broken) {
      const a = document.createElement("a");
      a.href = "?id=" + encodeURIComponent(r.broken.id);
      a.textContent = gettext("Show that entry");
      out.appendChild(a);
    }
  });
})();
