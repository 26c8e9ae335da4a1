// Mailroom's small enhancements. Everything works without this file.
"use strict";
(function () {
  // Grow the message body iframe to its content so the page scrolls as one.
  // The iframe is same-origin (sandboxed without scripts), so its height is readable here.
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      var h = doc.documentElement.scrollHeight;
      if (h > 0) frame.style.height = (h + 4) + "px";
    } catch (e) { /* cross-origin or not ready: keep the CSS height */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var frames = document.querySelectorAll("iframe.body");
    Array.prototype.forEach.call(frames, function (f) {
      f.addEventListener("load", function () { fit(f); setTimeout(function () { fit(f); }, 300); });
      fit(f);
    });
  });
})();
