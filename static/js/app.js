// Trace Review: small progressive enhancements; every page works without this file.
// No inline handlers anywhere (the CSP forbids them): behaviour is attached here.
(function () {
  "use strict";

  // Filters: leave empty fields out of the request, so shared URLs stay short and readable.
  document.addEventListener("htmx:configRequest", function (event) {
    var params = event.detail.parameters;
    var elt = event.detail.elt;
    if (!params || event.detail.verb !== "get" || !elt || !elt.closest || !elt.closest("form.filters")) return;
    var empty = [];
    if (typeof params.forEach === "function" && typeof params.delete === "function") {
      params.forEach(function (value, key) { if (value === "") empty.push(key); });
      empty.forEach(function (key) { params.delete(key); });
    } else {
      Object.keys(params).forEach(function (key) { if (params[key] === "") delete params[key]; });
    }
  });

  // Non-htmx submit of the filter form: same clean URL.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("filters") || window.htmx) return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.value === "") el.disabled = true;
    });
  });

  // Observation tree: collapse and expand subtrees. Rows are a flat list with data-depth.
  function rowsBelow(row) {
    var depth = Number(row.dataset.depth), out = [];
    for (var next = row.nextElementSibling; next && Number(next.dataset.depth) > depth; next = next.nextElementSibling) {
      out.push(next);
    }
    return out;
  }
  function setExpanded(row, expanded) {
    var twisty = row.querySelector(".twisty");
    if (!twisty) return;
    twisty.setAttribute("aria-expanded", expanded ? "true" : "false");
    var below = rowsBelow(row), skipUntil = -1;
    below.forEach(function (r, i) {
      if (!expanded) { r.hidden = true; return; }
      if (i <= skipUntil) return;
      r.hidden = false;
      var t = r.querySelector(".twisty");
      if (t && t.getAttribute("aria-expanded") === "false") skipUntil = i + rowsBelow(r).length;
    });
  }
  document.addEventListener("click", function (event) {
    var twisty = event.target.closest(".twisty");
    if (twisty) {
      setExpanded(twisty.closest(".node"), twisty.getAttribute("aria-expanded") !== "true");
      return;
    }
    var all = event.target.closest("[data-tree-expand], [data-tree-collapse]");
    if (all) {
      var expand = all.hasAttribute("data-tree-expand");
      document.querySelectorAll(".tree .node").forEach(function (row) {
        var t = row.querySelector(".twisty");
        if (t) t.setAttribute("aria-expanded", expand ? "true" : "false");
        row.hidden = !expand && Number(row.dataset.depth) > 0;
      });
      return;
    }
    // Traces list: a click anywhere on a row opens the trace (links keep their own behaviour,
    // and selecting text in a row does not navigate).
    var row = event.target.closest(".traces-table tbody tr");
    if (row && !event.target.closest("a, button, input, label, .col-select") && !String(window.getSelection() || "")) {
      var target = row.querySelector("a.row-link");
      if (target) {
        if (event.metaKey || event.ctrlKey) window.open(target.href, "_blank");
        else window.location.assign(target.href);
      }
      return;
    }
    var link = event.target.closest(".node-link");
    if (link) {
      document.querySelectorAll(".node-link[aria-current]").forEach(function (a) { a.removeAttribute("aria-current"); });
      link.setAttribute("aria-current", "true");
    }
    // Close the project switcher when clicking elsewhere.
    document.querySelectorAll("details[data-dropdown][open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
  // Refusals (400 invalid, 409 conflict, 422) that the server renders as an HTML fragment are
  // meant to be shown in place, in the request's target: htmx does not swap 4xx by default, and in
  // DEBUG django-htmx's helper would replace the whole page with the fragment. Full documents
  // (Django's own error pages) are left to the default handling.
  function isInPlaceRefusal(xhr) {
    if (!xhr || [400, 409, 422].indexOf(xhr.status) === -1) return false;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var body = String(xhr.responseText || "").replace(/^\s+/, "").slice(0, 15).toLowerCase();
    return type.indexOf("text/html") === 0 && body.indexOf("<!doctype") !== 0 && body.indexOf("<html") !== 0;
  }
  // Capture phase on window runs before django-htmx's debug listener on document.
  window.addEventListener("htmx:beforeOnLoad", function (event) {
    if (isInPlaceRefusal(event.detail.xhr)) event.stopPropagation();
  }, true);
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isInPlaceRefusal(event.detail.xhr)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // A new filter clears the last "added to queue" message (it is kept across result refreshes).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.closest || !elt.closest("form.filters, .pager")) return;
    var result = document.getElementById("bulk-result");
    if (result) result.replaceChildren();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details[data-dropdown][open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });
})();
