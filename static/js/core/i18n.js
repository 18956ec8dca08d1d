// The translation catalog comes from Django's JavaScriptCatalog (a classic script loaded
// before any module, see base.html); these wrappers read it at call time and fall back to
// the source text when a page has no catalog.
export function gettext(text) {
  return window.gettext ? window.gettext(text) : text;
}

export function ngettext(one, many, n) {
  if (window.ngettext) return window.ngettext(one, many, n);
  return n === 1 ? one : many;
}

// interpolate("%s of %s", [a, b]) or interpolate("%(name)s", {name: x}, true), as Django's.
export function interpolate(format, values, named) {
  if (window.interpolate) return window.interpolate(format, values, named);
  if (named) return format.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  const rest = values.slice();
  return format.replace(/%s/g, function () { return String(rest.shift()); });
}
