// Keyboard control of the reviewer pages, so a practised reviewer never touches the mouse.
// Queue page: N claims the next item. Item page: the digits and Q W E T Y U I O P toggle rejection
// reasons, A approves, R rejects (needs a reason), N skips to the next item, B F C H M toggle the
// overlays. Keys typed into the note box stay in the note; Escape leaves it.
(function () {
  "use strict";

  function toggleLayer(id) {
    var layer = document.getElementById(id);
    if (!layer) return;
    var hidden = layer.hasAttribute("hidden");
    if (hidden) layer.removeAttribute("hidden"); else layer.setAttribute("hidden", "");
    var button = document.querySelector('[data-toggle="' + id + '"]');
    if (button) button.classList.toggle("off", !hidden);
  }

  document.querySelectorAll("[data-toggle]").forEach(function (button) {
    var layer = document.getElementById(button.dataset.toggle);
    if (layer && layer.hasAttribute("hidden")) button.classList.add("off");
    button.addEventListener("click", function () { toggleLayer(button.dataset.toggle); });
  });

  var form = document.getElementById("decide");
  var hint = document.getElementById("hint");

  // What the server would refuse, said beside the buttons instead: a reject needs a reason, an
  // approval must have none ticked. Null when the decision can go.
  function refusal(decision) {
    var ticked = form.querySelector('input[name="reason"]:checked');
    if (decision === "reject" && !ticked) return "退回前请至少选择一个原因（数字键或 Q W E T Y U I O P）。";
    if (decision === "approve" && ticked) return "通过时不能选择退回原因：请先取消所选原因，或按 R 退回。";
    return null;
  }

  function submitDecision(decision) {
    if (!form) return;
    var why = refusal(decision);
    if (why) { hint.textContent = why; return; }
    document.getElementById(decision).click();
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var why = button && refusal(button.value);
      if (why) {
        event.preventDefault();
        hint.textContent = why;
      }
    });
  }

  var layerKeys = { b: "ov-mask", f: "ov-face", c: "ov-lines", h: "ov-band", m: "ov-centre" };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox"));
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var key = event.key.toLowerCase();
    if (key === "n") {
      var next = document.getElementById("skip") || document.getElementById("next");
      // Both are form buttons: claiming and skipping change state, so they are POSTs.
      if (next) { event.preventDefault(); next.click(); }
      return;
    }
    if (!form) return;
    if (key === "a") { event.preventDefault(); submitDecision("approve"); return; }
    if (key === "r") { event.preventDefault(); submitDecision("reject"); return; }
    if (layerKeys[key]) { event.preventDefault(); toggleLayer(layerKeys[key]); return; }
    var box = form.querySelector('input[name="reason"][data-key="' + key + '"]');
    if (box) {
      event.preventDefault();
      box.checked = !box.checked;
      hint.textContent = "";
    }
  });
})();
