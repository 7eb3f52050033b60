// The page's behaviour beyond Gradio's components (loaded once, in <head>; no eval, so it runs under
// the server's Content-Security-Policy): the "answering…" state on the card, the question in the
// URL, scrolling the answer into view on a phone, "read in context" opened at the quotation, the
// corpus panel's table of contents, and "copy citation".
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

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
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
