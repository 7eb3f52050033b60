// The page's behaviour beyond Gradio's components (loaded once, in <head>; no eval, so it runs under
// the server's Content-Security-Policy): the "answering…" state on the card, the question in the
// URL, scrolling the answer into view on a phone, "read in context" opened at the quotation, the
// corpus panel's table of contents, "copy citation", and the corpus panel's remove buttons (a second
// click confirms; the document id goes to the page's hidden remove control).
(() => {
  "use strict";
  let lastAnswer = null;

  function setAnswering(on) {
    for (const id of ["rag-answer", "rag-evidence"]) {
      const element = document.getElementById(id);
      if (element) element.classList.toggle("is-answering", on);
    }
  }

  // A new answer (or error) replaced the card: end the answering state, put the question in the
  // URL so that a link reproduces the answer, and bring the card into view if it is not.
  function onAnswer(slot) {
    setAnswering(false);
    const card = slot.querySelector(".card");
    const url = new URL(window.location.href);
    if (card && card.dataset.q) url.searchParams.set("q", card.dataset.q);
    else url.searchParams.delete("q");
    window.history.replaceState(null, "", url);
    if (!card) return;
    window.requestAnimationFrame(() => window.setTimeout(() => {
      const box = card.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) {
        card.scrollIntoView({block: box.height > window.innerHeight ? "start" : "nearest"});
      }
    }, 60));
  }

  new MutationObserver(() => {
    const slot = document.querySelector("#rag-answer .answer-slot");
    if (slot && slot.dataset.id !== lastAnswer) {
      lastAnswer = slot.dataset.id;
      onAnswer(slot);
    }
  }).observe(document.documentElement, {childList: true, subtree: true});

  async function copyCitation(button) {
    const text = button.dataset.copy || "";
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {  // no clipboard API (an insecure origin): the old way
      const area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      copied = document.execCommand("copy");
      area.remove();
    }
    button.textContent = copied ? "已复制 · Copied" : "复制失败 · Copy failed";
    button.classList.toggle("copied", copied);
  }

  function openSection(link) {
    const target = document.getElementById(link.getAttribute("href").slice(1));
    const reader = target && target.closest(".reader");
    if (!reader) return;
    reader.scrollTop = target.offsetTop - 6;
    reader.scrollIntoView({block: "nearest"});
    for (const old of reader.querySelectorAll(".is-target")) old.classList.remove("is-target");
    target.classList.add("is-target");
  }

  // First click arms the button ("confirm?"), a second removes; any other click disarms it.
  function removeDocument(button) {
    if (!button.classList.contains("is-armed")) {
      for (const other of document.querySelectorAll(".doc-remove.is-armed")) disarm(other);
      button.classList.add("is-armed");
      button.textContent = "确认移除？· Confirm remove";
      return;
    }
    const box = document.querySelector("#rag-remove-name textarea, #rag-remove-name input");
    const trigger = document.querySelector("#rag-remove");
    if (!box || !trigger) return;
    box.value = button.dataset.doc || "";
    box.dispatchEvent(new Event("input", {bubbles: true}));
    button.disabled = true;
    button.textContent = "正在移除… · Removing…";
    window.setTimeout(() => trigger.click(), 0);  // after Gradio has taken the new value
  }

  function disarm(button) {
    button.classList.remove("is-armed");
    button.textContent = "移除 · Remove";
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const remove = target.closest(".doc-remove");
    if (remove) {
      event.preventDefault();  // the button sits in the document's <summary>: do not fold it
      event.stopPropagation();
      removeDocument(remove);
      return;
    }
    for (const armed of document.querySelectorAll(".doc-remove.is-armed")) disarm(armed);
    if (target.closest("#rag-ask, #rag-examples button, #rag-history button")) setAnswering(true);
    const copy = target.closest(".copy-cite");
    if (copy) copyCitation(copy);
    const link = target.closest("a.toc-link");
    if (link) {
      event.preventDefault();
      openSection(link);
    }
  }, true);

  document.addEventListener("keydown", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && target && target.closest("#rag-question")) {
      setAnswering(true);
    }
  }, true);

  // "Read in context" opens at the quotation (or the passage), not at the top of the section.
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || !details.classList.contains("context")) return;
    const body = details.querySelector(".context-body");
    const mark = body && (body.querySelector("mark.quote") || body.querySelector("mark.here"));
    if (mark) body.scrollTop = Math.max(0, mark.offsetTop - 24);
  }, true);
})();
