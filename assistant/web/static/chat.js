// Roleplay chat: sends the learner's message to the roleplay API and shows the persona's
// reply as its server-sent events arrive. The conversation list is an aria-live log and is
// marked busy while a reply streams, so screen readers read the finished reply once.
(() => {
  "use strict";

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const log = document.getElementById("chat-log");
  const status = document.getElementById("chat-status");
  const composer = document.getElementById("composer");
  const endForm = document.getElementById("end-form");

  function announce(text) {
    status.textContent = text;
  }

  function addTurn(speaker, label, text) {
    const item = document.createElement("li");
    item.className = `turn turn-${speaker}`;
    const name = document.createElement("span");
    name.className = "speaker";
    name.textContent = label;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(name, body);
    log.append(item);
    return body;
  }

  function parseEvent(block) {
    const event = { name: "message", data: "" };
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("event:")) event.name = line.slice(6).trim();
      else if (line.startsWith("data:")) event.data += line.slice(5).trim();
    }
    return event;
  }

  async function errorDetail(response) {
    try {
      const body = await response.json();
      return body.detail || `HTTP ${response.status}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  }

  async function postJson(url, payload, accept) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: accept, "X-CSRF-Token": csrfToken },
      body: JSON.stringify(payload),
    });
  }

  // Reads the event stream; calls onEvent for each complete event block.
  async function readEvents(response, onEvent) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary = buffer.search(/\r?\n\r?\n/);
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
        if (block.trim() && !block.startsWith(":")) onEvent(parseEvent(block));
        boundary = buffer.search(/\r?\n\r?\n/);
      }
    }
  }

  function showError(element, message) {
    element.textContent = message;
    element.hidden = false;
  }

  async function sendMessage(event) {
    event.preventDefault();
    const textarea = composer.querySelector("textarea");
    const button = composer.querySelector("button");
    const error = document.getElementById("chat-error");
    const text = textarea.value.trim();
    if (!text) {
      showError(error, "Write a message before sending.");
      textarea.focus();
      return;
    }

    error.hidden = true;
    button.disabled = true;
    addTurn("learner", "You", text);
    textarea.value = "";
    log.setAttribute("aria-busy", "true");
    announce("Waiting for the reply.");

    const sessionId = composer.dataset.sessionId;
    let reply = null;
    let finished = null;
    try {
      const response = await postJson(`/roleplay/sessions/${encodeURIComponent(sessionId)}/turns`, { text }, "text/event-stream");
      if (!response.ok) throw new Error(await errorDetail(response));
      await readEvents(response, (message) => {
        const data = message.data ? JSON.parse(message.data) : {};
        if (message.name === "token") {
          reply = reply || addTurn("persona", "Reply", "");
          reply.textContent += data.text;
        } else if (message.name === "done") {
          finished = data;
        } else if (message.name === "error") {
          throw new Error(data.detail || "The reply failed.");
        }
      });
    } catch (failure) {
      showError(error, `Sending failed: ${failure.message}`);
    } finally {
      log.setAttribute("aria-busy", "false");
      button.disabled = false;
    }

    if (finished && finished.status !== "active") {
      composer.hidden = true;
      announce("The conversation has ended. Choose End and score to see your score.");
      document.getElementById("end").focus();
    } else if (finished) {
      announce("Reply received.");
      textarea.focus();
    }
  }

  // The API may respond before its transaction commits, so poll until a read returns the score.
  async function waitForStoredScore(sessionId) {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const response = await fetch(`/roleplay/sessions/${encodeURIComponent(sessionId)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok && (await response.json()).score) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function endSession(event) {
    event.preventDefault();
    const button = endForm.querySelector("button");
    const error = document.getElementById("end-error");
    button.disabled = true;
    announce("Scoring the conversation.");
    try {
      const response = await postJson(`/roleplay/sessions/${encodeURIComponent(endForm.dataset.sessionId)}/end`, {}, "application/json");
      if (!response.ok) throw new Error(await errorDetail(response));
      await waitForStoredScore(endForm.dataset.sessionId);
      window.location.assign(`${window.location.pathname}#score`);
      window.location.reload();
    } catch (failure) {
      showError(error, `Scoring failed: ${failure.message}`);
      button.disabled = false;
    }
  }

  if (composer) composer.addEventListener("submit", sendMessage);
  if (endForm) endForm.addEventListener("submit", endSession);
})();
