// Trace Review: keyboard shortcuts for reviewing (SPEC §5). Vendored, no build step, no inline
// handlers (the CSP forbids them). URLs come from data attributes the server renders:
//   [data-queue-next] / [data-queue-prev]  links of the queue bar (j/k, arrows)
//   [data-queue-bar][data-queue-id]        queue context: the review form then carries queue=<id>
//   form[data-review-form]                 the review form (Ctrl/Cmd+Enter submits it)
//   [data-scorer-kind="categorical"]       one scorer's options (digits pick them)
(function () {
  "use strict";

  var SHORTCUTS = [
    ["j", "→", "Next trace in the queue"],
    ["k", "←", "Previous trace in the queue"],
    ["Ctrl+Enter", "⌘+Enter", "Save the review (and open the next trace in a queue)"],
    ["1 … 9", "0", "Pick an option of the focused categorical scorer (0 = tenth)"],
    ["?", "", "Show or hide this list"],
    ["Esc", "", "Close this list"],
  ];

  var TEXT_INPUTS = /^(text|search|email|url|tel|password|number|date|datetime-local|month|week|time)$/;

  // True while the user is typing somewhere: no single-key shortcut may fire then.
  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return TEXT_INPUTS.test((el.getAttribute("type") || "text").toLowerCase());
    return false;
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link && link.getAttribute("href")) {
      window.location.assign(link.getAttribute("href"));
      return true;
    }
    return false;
  }

  function reviewForm() {
    return document.querySelector("form[data-review-form]");
  }

  // In queue context, the review form carries the queue so that saving opens the next trace.
  function carryQueue(form) {
    var bar = document.querySelector("[data-queue-bar][data-queue-id]");
    if (!form || !bar) return;
    var input = form.querySelector("input[name=queue]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "queue";
      form.appendChild(input);
    }
    if (!input.value) input.value = bar.getAttribute("data-queue-id");
  }

  function submitReview() {
    var form = reviewForm();
    if (!form) return false;
    carryQueue(form);
    var button = form.querySelector("[data-save-next]") || form.querySelector("button[type=submit], input[type=submit]");
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button || undefined);
    } else if (button) {
      button.click();
    } else {
      form.submit();
    }
    return true;
  }

  function scorerGroups() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-scorer-kind="categorical"]'));
  }

  // The focused scorer, else the one last touched, else the first one on the page.
  var lastGroup = null;
  function focusedGroup() {
    var active = document.activeElement;
    var group = active && active.closest ? active.closest('[data-scorer-kind="categorical"]') : null;
    if (group) return group;
    if (lastGroup && document.body.contains(lastGroup)) return lastGroup;
    return scorerGroups()[0] || null;
  }

  function pickOption(digit) {
    var group = focusedGroup();
    if (!group) return false;
    var options = group.querySelectorAll("input[type=radio]:not([data-scorer-toggle]), input[type=checkbox]:not([data-scorer-toggle])");
    var index = digit === 0 ? 9 : digit - 1;
    var option = options[index];
    if (!option || option.disabled) return false;
    // A click (not .checked = true) so the form's own listeners see the change.
    if (option.type === "radio" && option.checked) return true;
    option.click();
    option.focus({ preventScroll: true });
    lastGroup = group;
    return true;
  }

  var overlay = null;
  function buildOverlay() {
    overlay = document.createElement("div");
    overlay.className = "kbd-overlay";
    overlay.hidden = true;
    overlay.setAttribute("data-shortcuts-overlay", "");
    var panel = document.createElement("div");
    panel.className = "kbd-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    panel.setAttribute("aria-label", "Keyboard shortcuts");
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    panel.appendChild(title);
    var list = document.createElement("dl");
    SHORTCUTS.forEach(function (row) {
      var dt = document.createElement("dt");
      [row[0], row[1]].forEach(function (key, i) {
        if (!key) return;
        if (i) dt.appendChild(document.createTextNode(" or "));
        var kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.appendChild(kbd);
      });
      var dd = document.createElement("dd");
      dd.textContent = row[2];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    panel.appendChild(list);
    var note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Shortcuts are off while you type in a field (Ctrl+Enter still saves).";
    panel.appendChild(note);
    overlay.appendChild(panel);
    overlay.addEventListener("click", function (event) {
      if (event.target === overlay) toggleOverlay(false);
    });
    document.body.appendChild(overlay);
  }

  function toggleOverlay(show) {
    if (!overlay) buildOverlay();
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
  }

  document.addEventListener("focusin", function (event) {
    var group = event.target.closest && event.target.closest('[data-scorer-kind="categorical"]');
    if (group) lastGroup = group;
  });

  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-review-form]")) carryQueue(event.target);
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    var key = event.key;

    // Save works from inside the reasoning field too: Ctrl+Enter is never typed text.
    if (key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (submitReview()) event.preventDefault();
      return;
    }
    if (key === "Escape" && overlay && !overlay.hidden) {
      toggleOverlay(false);
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;

    var handled = false;
    if (key === "?") {
      toggleOverlay();
      handled = true;
    } else if (overlay && !overlay.hidden) {
      return;
    } else if (key === "j" || (key === "ArrowRight" && !isOption(event.target))) {
      handled = follow("[data-queue-next]");
    } else if (key === "k" || (key === "ArrowLeft" && !isOption(event.target))) {
      handled = follow("[data-queue-prev]");
    } else if (/^[0-9]$/.test(key)) {
      handled = pickOption(Number(key));
    }
    if (handled) event.preventDefault();
  });

  // Arrow keys move between radio options natively; leave them to the browser there.
  function isOption(el) {
    return el && el.tagName === "INPUT" && (el.type === "radio" || el.type === "checkbox");
  }

  document.addEventListener("DOMContentLoaded", function () {
    carryQueue(reviewForm());
  });
  document.addEventListener("htmx:afterSwap", function () {
    carryQueue(reviewForm());
  });
})();
