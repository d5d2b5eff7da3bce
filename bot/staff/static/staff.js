// Staff console behaviour: copy buttons. Served as a static file (no inline
// scripts: the gateway's Content-Security-Policy forbids them).
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function flash(button, ok) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = ok ? "已复制" : "复制失败，请手动选择";
    button.classList.toggle("copied", ok);
    window.setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, 2000);
  }

  // The audit log records which suggested answer was copied (who and when are
  // known to the server from the session).
  function reportCopy(button) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var card = button.closest("article.suggestion");
    if (!meta || !card || !window.fetch) { return; }
    fetch("/api/staff/audit", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": meta.getAttribute("content")},
      body: JSON.stringify({action: "copy", target: card.getAttribute("data-topic") || "",
                            detail: card.getAttribute("data-entry") || ""})
    }).catch(function () { /* the copy itself already happened */ });
  }

  function onCopy(event) {
    var button = event.currentTarget;
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    reportCopy(button);
    var text = target.innerText.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { flash(button, true); },
        function () { flash(button, fallbackCopy(text)); });
    } else {
      flash(button, fallbackCopy(text));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button.copy[data-copy-target]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", onCopy);
    }
  });
})();
