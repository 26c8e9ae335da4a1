// The compose page's formatted editor. With this script the message is written in a
// contenteditable box with a small toolbar (bold, italic, lists, link, quote); its HTML is
// posted as `body_html` beside its text in `body`. The server cleans the HTML with the
// same policy as incoming mail and derives the plain-text part from it, so nothing here is
// trusted. Without this script the plain textarea works as it always did, and "Plain
// text" on the toolbar goes back to it (remembered in this browser).
"use strict";
(function () {
  var PREF = "mailroom.compose.mode";

  document.addEventListener("DOMContentLoaded", function () {
    var area = document.getElementById("compose-body");
    var source = document.getElementById("compose-body-html");
    var bar = document.querySelector(".rich-toolbar");
    if (!area || !source || !bar || !area.form || typeof document.execCommand !== "function") return;
    var form = area.form;
    var wantsFocus = area.hasAttribute("autofocus");
    area.removeAttribute("autofocus");

    var editor = document.createElement("div");
    editor.className = "rich-editor";
    editor.contentEditable = "true";
    editor.hidden = true;
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    editor.setAttribute("aria-labelledby", "compose-body-label");
    ["aria-invalid", "aria-describedby"].forEach(function (a) {
      if (area.hasAttribute(a)) editor.setAttribute(a, area.getAttribute(a));
    });
    area.parentNode.insertBefore(editor, area.nextSibling);

    var rich = false;
    var saved = null;

    // HTML from the server (already cleaned there) is parsed inert in a template, which
    // runs nothing and loads nothing, then moved in.
    function loadHtml(html) {
      var t = document.createElement("template");
      t.innerHTML = html;
      editor.textContent = "";
      editor.appendChild(t.content);
    }
    // Plain text as a div per line, built as nodes (never as markup).
    function loadText(text) {
      editor.textContent = "";
      text.replace(/\r\n/g, "\n").replace(/\n+$/, "").split("\n").forEach(function (line) {
        var d = document.createElement("div");
        if (line) d.textContent = line;
        else d.appendChild(document.createElement("br"));
        editor.appendChild(d);
      });
    }
    function sync() {
      if (!rich) return;
      area.value = editor.innerText;
      source.value = editor.innerHTML;
    }
    // The body's id moves to whichever box is shown, so its label, the focus and anything
    // that looks for `#compose-body` find the one the user writes in.
    function show(on) {
      rich = on;
      editor.hidden = !on;
      area.hidden = on;
      area.id = on ? "compose-body-text" : "compose-body";
      editor.id = on ? "compose-body" : "";
      if (on) source.name = "body_html";
      else source.removeAttribute("name");
      Array.prototype.forEach.call(bar.querySelectorAll("button"), function (b) {
        var cmd = b.getAttribute("data-cmd");
        b.hidden = cmd === "rich" ? on : !on;
      });
    }
    function remember(mode) {
      try { window.localStorage.setItem(PREF, mode); } catch (e) { /* private mode */ }
    }
    function preferred() {
      try { return window.localStorage.getItem(PREF); } catch (e) { return null; }
    }

    // Keep the selection the toolbar acts on: a click on a button must not lose it.
    document.addEventListener("selectionchange", function () {
      var s = window.getSelection();
      if (rich && s && s.rangeCount && editor.contains(s.anchorNode)) saved = s.getRangeAt(0).cloneRange();
    });
    function restore() {
      editor.focus();
      if (!saved) return;
      var s = window.getSelection();
      s.removeAllRanges();
      s.addRange(saved);
    }
    function inQuote() {
      var s = window.getSelection();
      var n = s && s.anchorNode;
      while (n && n !== editor) {
        if (n.nodeName === "BLOCKQUOTE") return true;
        n = n.parentNode;
      }
      return false;
    }

    bar.addEventListener("mousedown", function (e) {
      if (e.target.closest("button")) e.preventDefault();
    });
    bar.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-cmd]");
      if (!b) return;
      e.preventDefault();
      var cmd = b.getAttribute("data-cmd");
      if (cmd === "plain") {
        sync();
        show(false);
        remember("plain");
        area.focus();
        return;
      }
      if (cmd === "rich") {
        loadText(area.value);
        show(true);
        remember("rich");
        editor.focus();
        return;
      }
      restore();
      if (cmd === "link") {
        var url = window.prompt(b.getAttribute("data-prompt") || "", "https://");
        if (!url || url === "https://") return;
        url = url.trim();
        if (!/^(https?:|mailto:)/i.test(url)) url = (url.indexOf("@") > 0 ? "mailto:" : "https://") + url;
        restore();
        document.execCommand("createLink", false, url);
      } else if (cmd === "quote") {
        document.execCommand("formatBlock", false, inQuote() ? "div" : "blockquote");
      } else {
        document.execCommand(cmd, false, null);
      }
      sync();
    });
    editor.addEventListener("input", sync);
    form.addEventListener("submit", sync);

    // Tags, not inline styles: <b> and <i> survive the server's cleaning as they are.
    try { document.execCommand("styleWithCSS", false, false); } catch (e) { /* older engines */ }
    document.execCommand("defaultParagraphSeparator", false, "div");

    if (source.value.trim()) loadHtml(source.value);
    else loadText(area.value);
    bar.hidden = false;
    show(preferred() !== "plain");
    if (!rich) {
      if (wantsFocus) area.focus();
      return;
    }
    sync();
    if (wantsFocus) editor.focus();
  });
})();
