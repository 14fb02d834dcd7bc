// Review panel: filter the scorer picker as the reviewer types. The picker works without this
// (every scorer is listed with its own "add" button); event delegation keeps it working after
// htmx swaps the panel.
(function () {
  if (window.traceReviewReviews) return;
  window.traceReviewReviews = true;

  function items(search) {
    var picker = search.closest(".scorer-picker");
    return picker ? picker.querySelectorAll("[data-picker-name]") : [];
  }

  document.addEventListener("input", function (event) {
    var search = event.target.closest && event.target.closest("[data-picker-search]");
    if (!search) return;
    var needle = search.value.trim().toLowerCase();
    items(search).forEach(function (item) {
      item.hidden = needle !== "" && item.getAttribute("data-picker-name").indexOf(needle) === -1;
    });
  });

  // Enter in the search adds the first matching scorer instead of saving the review.
  document.addEventListener("keydown", function (event) {
    var search = event.target.closest && event.target.closest("[data-picker-search]");
    if (!search || event.key !== "Enter") return;
    event.preventDefault();
    var first = Array.prototype.find.call(items(search), function (item) { return !item.hidden; });
    if (first) first.querySelector("button").click();
  });
})();
