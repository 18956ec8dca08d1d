// Dates and times on every page (rooms aside) in one format: the page's language through
// Intl, so an English page reads "Dec 1, 2026, 2:50 PM" and a zh-Hant one "2026年12月1日 下午2:50".
// Date-only values ("2026-12-15") are calendar days: formatted in UTC so no time zone shifts them.
function pageLocale() { return document.documentElement.lang || undefined; }

export function formatDateTime(value) {
  if (value === null || value === undefined || value === "") return "";
  const d = value instanceof Date ? value : new Date(value);
  if (isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(pageLocale(), { dateStyle: "medium", timeStyle: "short" }).format(d);
}

export function formatDate(value) {
  if (value === null || value === undefined || value === "") return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(value));
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : new Date(value);
  if (isNaN(d.getTime())) return String(value);
  return new Intl.DateTimeFormat(pageLocale(), m ? { dateStyle: "medium", timeZone: "UTC" } : { dateStyle: "medium" }).format(d);
}

// Server-rendered <time datetime="..." data-format="datetime|date"> get the same format.
export function formatTimes(root) {
  (root || document).querySelectorAll("time[data-format]").forEach(function (node) {
    const raw = node.getAttribute("datetime");
    node.textContent = node.dataset.format === "date" ? formatDate(raw) : formatDateTime(raw);
  });
}
