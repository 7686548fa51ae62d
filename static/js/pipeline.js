/* Pipeline board: HTML5 drag-and-drop of deal cards between stage columns.
 *
 * A drop posts the target stage to the deal's move URL with fetch (CSRF token in the header);
 * the server moves the deal through opportunity_move_stage, so the stage history is recorded.
 * On success the board reloads (column counts and weighted totals come from the server); a
 * refusal (closed deal, inactive stage …) is shown above the board and the card stays put.
 * The card menus keep working without this script: they are plain POST forms.
 */
(function () {
  "use strict";

  const board = document.getElementById("pipeline-board");
  if (!board) {
    return;
  }
  const status = document.getElementById("pipeline-status");
  const moveUrl = (dealId) => board.dataset.moveUrlTemplate.replace(/0\/move\/$/, `${dealId}/move/`);
  let dragged = null;

  function showStatus(kind, text) {
    status.textContent = text;
    status.className = `alert alert-${kind}`;
  }

  function highlight(zone, on) {
    zone.classList.toggle("bg-primary-subtle", on);
  }

  async function moveDeal(card, stageId) {
    const body = new URLSearchParams({ stage: stageId });
    let response;
    try {
      response = await fetch(moveUrl(card.dataset.deal), {
        method: "POST",
        headers: {
          "X-CSRFToken": board.dataset.csrfToken,
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        credentials: "same-origin",
        body,
      });
    } catch (error) {
      showStatus("danger", board.dataset.errorText);
      return;
    }
    let payload = {};
    try {
      payload = await response.json();
    } catch (error) {
      payload = {};
    }
    if (response.ok && payload.ok) {
      showStatus("success", payload.message);
      board.dataset.state = "moved";
      window.location.reload();
      return;
    }
    const errors = payload.errors && payload.errors.length ? payload.errors.join(" ") : board.dataset.errorText;
    showStatus("danger", errors);
    board.dataset.state = "refused";
  }

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".pipeline-card");
    if (!card || card.getAttribute("draggable") !== "true") {
      return;
    }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
    card.classList.add("opacity-50");
  });

  board.addEventListener("dragend", () => {
    if (dragged) {
      dragged.classList.remove("opacity-50");
    }
    board.querySelectorAll(".pipeline-dropzone").forEach((zone) => highlight(zone, false));
    dragged = null;
  });

  board.addEventListener("dragover", (event) => {
    const zone = event.target.closest(".pipeline-dropzone");
    if (!zone || !dragged || zone.dataset.stage === dragged.dataset.stage) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    highlight(zone, true);
  });

  board.addEventListener("dragleave", (event) => {
    const zone = event.target.closest(".pipeline-dropzone");
    if (zone && !zone.contains(event.relatedTarget)) {
      highlight(zone, false);
    }
  });

  board.addEventListener("drop", (event) => {
    const zone = event.target.closest(".pipeline-dropzone");
    if (!zone || !dragged) {
      return;
    }
    event.preventDefault();
    highlight(zone, false);
    if (zone.dataset.stage !== dragged.dataset.stage) {
      moveDeal(dragged, zone.dataset.stage);
    }
  });
})();
