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

// Recipient suggestions. An input with `data-suggest` and `list="contacts-list"` gets its
// datalist refilled from /contacts/suggest for the address after the last comma or
// semicolon; each option's value is the whole field with that address completed, so
// picking one keeps the recipients typed before it. Without this script the datalist the
// server rendered (the most used contacts) still works, on phones too.
(function () {
  function formatAddress(c) {
    if (!c.name) return c.email;
    var name = /[,;<>"\\@:()]/.test(c.name)
      ? '"' + c.name.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"'
      : c.name;
    return name + " <" + c.email + ">";
  }
  function split(value) {
    var i = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    return {
      head: i < 0 ? "" : value.slice(0, i + 1).replace(/\s*$/, " "),
      term: value.slice(i + 1).replace(/^\s+|\s+$/g, "")
    };
  }
  function fill(list, items) {
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (it) {
      var o = document.createElement("option");
      o.value = it.value;
      o.textContent = it.label;
      list.appendChild(o);
    });
  }
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list") || "");
    if (!list) return;
    var initial = Array.prototype.map.call(list.options, function (o) {
      return { value: o.value, label: o.textContent };
    });
    var timer = null, seq = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var parts = split(input.value), mine = ++seq;
        if (!parts.term) {
          fill(list, initial.map(function (it) {
            return { value: parts.head + it.value, label: it.label };
          }));
          return;
        }
        fetch("/contacts/suggest?q=" + encodeURIComponent(parts.term), {
          credentials: "same-origin",
          headers: { Accept: "application/json" }
        }).then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) {
            if (mine !== seq || !Array.isArray(found)) return;
            fill(list, found.map(function (c) {
              return {
                value: parts.head + formatAddress(c),
                label: c.name ? c.name + " <" + c.email + ">" : c.email
              };
            }));
          })
          .catch(function () { /* offline or logged out: keep the current options */ });
      }, 150);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), attach);
  });
})();
