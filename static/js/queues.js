// Trace Review: keyboard shortcuts for reviewing (SPEC §5). Vendored, no build step, no inline
// handlers (the CSP forbids them). URLs come from data attributes the server renders:
//   [data-queue-next] / [data-queue-prev]  links of the queue bar (j/k, arrows)
//   [data-queue-bar][data-queue-id]        queue context: the review form then carries queue=<id>
//   #review-panel form.review-form         the review form (Ctrl/Cmd+Enter submits it)
//   fieldset[data-kind="categorical"]      one scorer's options (digits pick them)
//   [data-picker-search]                   the review form's "add a scorer" search ("/" focuses it)
(function () {
  "use strict";
  if (window.traceReviewQueueKeys) return; // loaded twice (list + fragment): bind once
  window.traceReviewQueueKeys = true;

  var SHORTCUTS = [
    ["j", "→", "Next trace in the queue"],
    ["k", "←", "Previous trace in the queue"],
    ["Ctrl+Enter", "⌘+Enter", "Save the review (and open the next trace in a queue)"],
    ["1 … 9", "0", "Pick an option of the focused categorical scorer (0 = tenth)"],
    ["/", "", "Add a scorer (search scorers)"],
    ["?", "", "Show or hide this list"],
    ["Esc", "", "Close this list, or leave the field you are typing in"],
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

  var REVIEW_FORM = "form[data-review-form], #review-panel form.review-form";
  var GROUP = '[data-scorer-kind="categorical"], fieldset[data-kind="categorical"]';

  function reviewForm() {
    return document.querySelector(REVIEW_FORM);
  }

  function queueBar() {
    return document.querySelector("[data-queue-bar][data-queue-id]");
  }

  // In queue context, the review form carries the queue so that saving opens the next trace.
  function carryQueue(form) {
    var bar = queueBar();
    if (!form || !bar) return;
    var input = form.querySelector("input[name=queue]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "queue";
      form.appendChild(input);
    }
    if (!input.value) input.value = bar.getAttribute("data-queue-id");
    // Saving in a queue moves on: say so on the button.
    var save = form.querySelector(".review-actions button[type=submit][name=save], [data-save-next]");
    if (save && !save.hasAttribute("data-save-next")) {
      save.setAttribute("data-save-next", "");
      save.textContent = "Save & next";
      save.title = "Ctrl+Enter";
    }
  }

  // In a queue the reviewer came to review: open the form of a trace not reviewed yet.
  function openFormInQueue() {
    var bar = queueBar();
    if (!bar || !bar.hasAttribute("data-queue-pending")) return;
    if (bar.querySelector("[data-queue-claimed]")) return; // someone else is on it: just look
    var panel = document.querySelector('#review-panel[data-mode="view"]');
    var open = panel && panel.querySelector('a.primary[href*="mode=edit"]');
    if (open) open.click();
  }

  function submitReview() {
    var form = reviewForm();
    if (!form) return false;
    carryQueue(form);
    var button = form.querySelector("[data-save-next]") || form.querySelector("button[type=submit][name=save]") ||
      form.querySelector("button[type=submit], input[type=submit]");
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
    return Array.prototype.slice.call(document.querySelectorAll(GROUP));
  }

  // The focused scorer, else the one last touched, else the first one on the page.
  var lastGroup = null;
  function focusedGroup() {
    var active = document.activeElement;
    var group = active && active.closest ? active.closest(GROUP) : null;
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
    var group = event.target.closest && event.target.closest(GROUP);
    if (group) lastGroup = group;
  });

  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches(REVIEW_FORM)) carryQueue(event.target);
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
    if (isTyping(event.target)) {
      // Esc leaves a field, so the keyboard-only reviewer gets the shortcuts back.
      if (key === "Escape") {
        event.target.blur();
        event.preventDefault();
      }
      return;
    }

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
    } else if (key === "/") {
      var search = document.querySelector("#review-panel [data-picker-search]");
      if (search) {
        search.focus();
        handled = true;
      }
    }
    if (handled) event.preventDefault();
  });

  // Arrow keys move between radio options natively; leave them to the browser there.
  function isOption(el) {
    return el && el.tagName === "INPUT" && (el.type === "radio" || el.type === "checkbox");
  }

  document.addEventListener("DOMContentLoaded", function () {
    carryQueue(reviewForm());
    openFormInQueue();
  });
  document.addEventListener("htmx:afterSwap", function () {
    carryQueue(reviewForm());
    // After the form is swapped in (a scorer added), focus the first scorer still unanswered, so
    // digits and Tab continue from there.
    // The scorer search keeps focus when it sits outside the swapped part: leave it too.
    var active = document.activeElement;
    if (active && active !== document.body && !active.matches("[data-picker-search]")) return;
    var open = scorerGroups().filter(function (g) { return !g.querySelector("input:checked"); })[0];
    var first = open && open.querySelector("input[type=radio], input[type=checkbox]");
    if (first) first.focus({ preventScroll: true });
  });
})();

// Traces list: row selection for "add selected to a queue" (checkboxes join form#bulk-add).
(function () {
  "use strict";

  function boxes() {
    return document.querySelectorAll('input[type=checkbox][name=trace][form="bulk-add"]');
  }

  function refreshCount() {
    var n = 0;
    boxes().forEach(function (box) { if (box.checked) n += 1; });
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(n); });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
    }
    refreshCount();
  });
  document.addEventListener("htmx:afterSwap", refreshCount);

  // Refusals of the queue forms come back as 4xx fragments that say why: show them in place
  // (htmx does not swap error responses by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (status >= 400 && status < 500 && target && (target.id === "bulk-result" || target.id === "queue-add")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("DOMContentLoaded", refreshCount);
})();
