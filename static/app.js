// Mailroom's small enhancements. Everything works without this file.
"use strict";
(function () {
  // Fit the message body iframe to its content (shorter or taller than the CSS height),
  // so the page scrolls as one. The frame is sandboxed with allow-same-origin but never
  // allow-scripts: nothing runs inside it, and this page may read its size. Without this
  // script the frame keeps the stylesheet's height and scrolls inside.
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement || !doc.body) return;
      var root = doc.documentElement;
      // The root's own box, not scrollHeight: that is never less than the frame's height,
      // so a short message would keep the tall default box.
      var h = Math.ceil(Math.max(root.getBoundingClientRect().height, doc.body.scrollHeight));
      // A wide table gets a horizontal scrollbar: leave room for it.
      if (root.scrollWidth > root.clientWidth) h += 20;
      if (h > 0) frame.style.height = (h + 4) + "px";
    } catch (e) { /* cross-origin or not ready: keep the CSS height */ }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var frames = document.querySelectorAll("iframe.body");
    Array.prototype.forEach.call(frames, function (f) {
      f.addEventListener("load", function () {
        fit(f);
        // Images load after the document: measure again when they may have arrived.
        [300, 1000, 3000].forEach(function (ms) { setTimeout(function () { fit(f); }, ms); });
      });
      fit(f);
    });
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { Array.prototype.forEach.call(frames, fit); }, 150);
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

// Organizing mail: "select all" and keyboard shortcuts on the list and message pages.
// Without this script every action is still a button or a link: the list's "apply to all
// on this page" button stands in for the select-all box, which this block reveals.
// Shortcuts: j/k next/previous, o/Enter open, r/a/f reply/reply all/forward, c compose,
// # delete, e archive, / search, ? this list (components/shortcuts.html, translated there).
(function () {
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function follow(el) {
    if (!el) return false;
    if (el.tagName === "A") { window.location.href = el.href; } else { el.click(); }
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = $("form.bulk");
    var rows = $all("table.messages tbody tr");
    var current = -1;
    // New rows pushed in by the live block below.
    document.addEventListener("mailroom:list-updated", function () {
      rows = $all("table.messages tbody tr");
      current = -1;
    });

    // The header checkbox ticks or clears every row of this page.
    var all = $("table.messages input.select-all");
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        $all("table.messages tbody input[name=uid]").forEach(function (b) { b.checked = all.checked; });
      });
    }

    function mark(i) {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, j) { r.classList.toggle("kb-current", j === current); });
      rows[current].scrollIntoView({ block: "nearest" });
    }
    function currentHref() {
      var link = current >= 0 ? $("a.open", rows[current]) : null;
      return link ? link.getAttribute("href") : null;
    }
    // Runs a list action on the ticked rows, or on the highlighted row if none is ticked.
    function listAction(action) {
      if (!form) return false;
      var ticked = $all("input[name=uid]:checked", form);
      if (!ticked.length) {
        if (current < 0) return false;
        var box = $("input[name=uid]", rows[current]);
        if (!box) return false;
        box.checked = true;
      }
      var select = $("select[name=action]", form);
      var option = select && $("option[value='" + action + "']", select);
      if (!option) return false;
      select.value = action;
      var go = $("button.apply-selected", form);
      return follow(go);
    }
    function help(show) {
      var box = document.getElementById("shortcut-help");
      if (!box) return false;
      box.hidden = show === undefined ? !box.hidden : !show;
      if (!box.hidden) { var b = $("button", box); if (b) b.focus(); }
      return true;
    }
    var close = $("#shortcut-help .shortcut-close");
    if (close) close.addEventListener("click", function () { help(false); });

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      var k = e.key, done = false;
      if (k === "Escape") { done = help(false); }
      else if (k === "?") { done = help(); }
      else if (k === "/") { var q = $("input[name=q]"); if (q) { q.focus(); done = true; } }
      else if (k === "c") { done = follow($("[data-shortcut='c'], a.compose-link")); }
      else if (rows.length) {
        // The message list.
        if (k === "j") { mark(current + 1); done = true; }
        else if (k === "k") { mark(current < 0 ? 0 : current - 1); done = true; }
        else if ((k === "o" || k === "Enter") && currentHref()) { window.location.href = currentHref(); done = true; }
        else if (k === "#") { done = listAction("delete"); }
        else if (k === "e") { done = listAction("archive"); }
      } else {
        // The message page.
        var map = { j: "[data-shortcut='j']", k: "[data-shortcut='k']", "#": "[data-shortcut='#']",
                    e: "[data-shortcut='e']", r: "[data-shortcut='r'], a.reply",
                    a: "[data-shortcut='a'], a.reply-all", f: "[data-shortcut='f'], a.forward" };
        if (map[k]) done = follow($(map[k]));
      }
      if (done) e.preventDefault();
    });
  });
})();

// Live updates (GET /events, server-sent events): the sidebar's unread counts, the tab
// title and, on page 1 of the open folder, the list itself follow new mail without a
// reload; optional desktop notifications (turned on in /settings, kept in this browser).
// Without this script, or when the server sends no events, pages are as they were served.
(function () {
  if (!window.EventSource || !window.fetch || !document.querySelector("nav.sidebar")) return;
  var baseTitle = document.title;
  var uidnext = {};
  var refreshing = false;

  function folderOf(a) {
    try { return decodeURIComponent(a.pathname.slice("/mail/".length)); } catch (e) { return null; }
  }
  // The folder whose plain list (page 1, any sort) this page shows; null for anything
  // else (a later page, a search, a label filter, the conversation view, a message).
  function openFolder() {
    var m = /^\/mail\/([^/]+)$/.exec(window.location.pathname);
    if (!m) return null;
    var q = new URLSearchParams(window.location.search);
    var plain = true;
    q.forEach(function (v, k) {
      if (!(k === "sort" || k === "notice" || k === "n" || k === "outbox" || (k === "page" && v === "1"))) plain = false;
    });
    if (!plain) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
  }
  function countOf(mailbox) {
    var n = 0;
    Array.prototype.forEach.call(document.querySelectorAll("nav.sidebar ul.folders li > a"), function (a) {
      var c = a.querySelector("span.count");
      if (folderOf(a) === mailbox && c) n = parseInt(c.textContent, 10) || 0;
    });
    return n;
  }
  function setCount(s) {
    Array.prototype.forEach.call(document.querySelectorAll("nav.sidebar ul.folders li > a"), function (a) {
      if (folderOf(a) !== s.mailbox) return;
      var c = a.querySelector("span.count");
      if (s.unseen > 0) {
        if (!c) { c = document.createElement("span"); c.className = "count"; a.appendChild(document.createTextNode(" ")); a.appendChild(c); }
        c.textContent = String(s.unseen);
      } else if (c) {
        c.remove();
      }
    });
    if (s.mailbox === "INBOX") {
      document.title = (s.unseen > 0 ? "(" + s.unseen + ") " : "") + baseTitle;
      // Phones: the menu button carries the inbox's count, the sidebar being a drawer.
      var menu = document.querySelector("a.menu-toggle");
      var badge = menu && menu.querySelector("span.count");
      if (menu && s.unseen > 0) {
        if (!badge) { badge = document.createElement("span"); badge.className = "count"; menu.appendChild(document.createTextNode(" ")); menu.appendChild(badge); }
        badge.textContent = String(s.unseen);
      } else if (badge) {
        badge.remove();
      }
    }
  }
  // Page 1 of the open folder gains the new rows: the page is fetched again and its table
  // body swapped in, unless the user has ticked rows (their choice is not thrown away).
  function refreshList() {
    var body = document.querySelector("table.messages tbody");
    if (!body || refreshing) return;
    if (document.querySelector("table.messages input[name=uid]:checked")) return;
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("table.messages tbody");
        var now = document.querySelector("table.messages tbody");
        if (fresh && now) {
          now.replaceWith(document.importNode(fresh, true));
          document.dispatchEvent(new CustomEvent("mailroom:list-updated"));
        }
      })
      .catch(function () {})
      .then(function () { refreshing = false; });
  }
  function notify(s) {
    if (!window.Notification || Notification.permission !== "granted") return;
    if (localStorage.getItem("mailroom.notify") !== "1" || !document.hidden) return;
    var nav = document.querySelector("nav.sidebar");
    var text = (nav && nav.getAttribute("data-new-mail")) || "New mail";
    try { new Notification(text, { body: s.mailbox, tag: "mailroom-" + s.mailbox }); } catch (e) {}
  }
  // One stream per page, closed when the page is left: a page kept in the back/forward
  // cache would otherwise hold its connection, and a browser opens only six to one host
  // over HTTP/1.1, so a few pages later every request would wait (seen in Chromium).
  var es = null;
  function stop() {
    if (es) { es.close(); es = null; }
  }
  function start() {
    if (es) return;
    es = new EventSource("/events");
    es.addEventListener("mailbox", function (e) {
      var s;
      try { s = JSON.parse(e.data); } catch (err) { return; }
      var shown = countOf(s.mailbox);
      setCount(s);
      var before = uidnext[s.mailbox];
      uidnext[s.mailbox] = s.uidnext;
      if (before === undefined) {
        // The first state of a folder: the list is asked for again only if unread mail came
        // in between rendering the page and now, not on every page view.
        if (s.mailbox === openFolder() && s.unseen > shown) refreshList();
        return;
      }
      if (s.uidnext > before && s.mailbox === "INBOX") notify(s);
      if (s.mailbox === openFolder()) refreshList();
    });
  }
  window.addEventListener("pagehide", stop);
  // Back from the cache: listen again (the folders' last known states are kept, so a
  // change meanwhile refreshes the list).
  window.addEventListener("pageshow", function (e) { if (e.persisted) start(); });
  document.addEventListener("DOMContentLoaded", function () {
    start();
    // /settings: the desktop notifications switch (shown only with this script).
    var box = document.getElementById("desktop-notify");
    if (box && window.Notification) {
      box.hidden = false;
      var toggle = box.querySelector("input[type=checkbox]");
      toggle.checked = localStorage.getItem("mailroom.notify") === "1" && Notification.permission === "granted";
      toggle.addEventListener("change", function () {
        if (!toggle.checked) { localStorage.removeItem("mailroom.notify"); return; }
        Notification.requestPermission().then(function (p) {
          if (p === "granted") { localStorage.setItem("mailroom.notify", "1"); } else { toggle.checked = false; }
        });
      });
    }
  });
})();

// The browser's time zone for the login form's hidden `timezone` field: saved as the
// user's zone at the first login, so dates are shown in local time from the start.
// Without this script the field stays empty and the configured default applies.
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var field = document.querySelector("input[data-browser-timezone]");
    if (!field) return;
    try {
      field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) { /* no Intl: leave it empty */ }
  });
})();
