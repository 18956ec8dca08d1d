// el("button", {class: "primary", text: "Save", onclick: fn}, [children]): one way to build
// DOM on every page. Text always goes in as text nodes, never as markup.
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(function ([k, v]) {
    if (v === null || v === undefined || v === false) return;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
    else node.setAttribute(k, v === true ? "" : v);
  });
  (Array.isArray(children) ? children : children === undefined ? [] : [children]).forEach(function (c) {
    if (c === null || c === undefined || c === false) return;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  });
  return node;
}

// The server's data for a page script: a json_script block, by default id="page-data".
export function pageData(id) {
  const node = document.getElementById(id || "page-data");
  return node ? JSON.parse(node.textContent) : {};
}
