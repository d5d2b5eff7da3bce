/* Web chat of the medical-insurance assistant.
 * Everything from the resident or the bot is rendered with textContent, never as
 * HTML. No inline scripts: the page's Content-Security-Policy forbids them. */
"use strict";

(function () {
  // Interface strings of the page (answers themselves come from the server).
  const T = {
    you: "我",
    bot: "医保助手",
    sending: "正在查询…",
    failed: "抱歉，网络或系统暂时有问题，请稍后再试，或拨打医保服务热线 12393。",
    // The hand-off's sentences come from the server; these only label its controls.
    call: "拨打 ",
    micHold: "按住说话",
    micRelease: "松开发送",
    micListening: "正在听，请说话…",
    micNoPermission: "没有麦克风权限，请用文字输入。",
    micUnavailable: "这台设备暂时不能语音输入，请用文字输入。",
    micNothing: "没听清，请再说一遍。",
    // Without our own recogniser we do not fall back to the browser's: it would send
    // the resident's voice to the browser maker's cloud service without asking.
    micNotHere: "本站暂未开通语音输入，请用文字输入。",
    micWhere: "按住“按住说话”按钮说话，松开后自动发送（键盘：按住空格键）。录音会发送到“{p}”转成文字。",
    elderOn: "已打开长辈模式：字更大，回答会读出来。",
    elderOff: "已关闭长辈模式。",
  };
  // The conversation is the server's session cookie (HttpOnly): nothing about it here.
  const KEYS = { place: "yb.place", elder: "yb.elder" };
  const TIMEOUT_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const form = $("composer");
  const input = $("text");
  const place = $("place");
  const elderToggle = $("elder-toggle");
  const elderActions = $("elder-actions");
  const status = $("status");
  const mic = $("mic");

  function store(key, value) {
    try { if (value === null) localStorage.removeItem(key); else localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  store("yb.sender", null); // left by older versions of this page, which chose their own id

  // ---- place and elder mode, remembered on this device ----------------------
  // The places come from the knowledge base: a new place file appears here by itself.
  const savedPlace = load(KEYS.place);
  fetch("/api/places").then((r) => r.json()).then((data) => {
    for (const p of Array.isArray(data.places) ? data.places : []) {
      if (!p || typeof p.name !== "string") continue;
      const option = document.createElement("option");
      option.value = p.name;
      option.textContent = p.name;
      place.append(option);
    }
    if (savedPlace !== null && [...place.options].some((o) => o.value === savedPlace)) place.value = savedPlace;
    place.dataset.loaded = "1";
  }).catch(() => { place.dataset.loaded = "1"; });
  place.addEventListener("change", () => store(KEYS.place, place.value));

  let elder = load(KEYS.elder) === "1";
  function applyElder(announce) {
    document.documentElement.classList.toggle("elder", elder);
    elderToggle.setAttribute("aria-pressed", elder ? "true" : "false");
    elderActions.hidden = !elder;
    mic.hidden = !elder;
    $("mic-help").hidden = mic.hidden;
    if (announce) status.textContent = elder ? T.elderOn : T.elderOff;
    if (!elder && window.speechSynthesis) speechSynthesis.cancel();
  }
  elderToggle.addEventListener("click", () => {
    elder = !elder;
    store(KEYS.elder, elder ? "1" : "0");
    applyElder(true);
  });

  // ---- rendering -------------------------------------------------------------
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addUser(text) {
    const div = document.createElement("div");
    div.className = "msg user";
    const p = document.createElement("p");
    p.textContent = text;
    div.append(hidden(T.you + "："), p);
    log.append(div);
    scrollDown();
  }

  function hidden(text) {
    const span = document.createElement("span");
    span.className = "sr-only";
    span.textContent = text;
    return span;
  }

  // A reply's lines as the server structured them: {text, source?} where source is
  // the index of the cited document in reply.sources. The text itself is not parsed.
  function linesOf(reply) {
    if (Array.isArray(reply.lines)) return reply.lines;
    return String(reply.text || "").split("\n").map((text) => ({ text: text }));
  }

  function addBot(reply) {
    const div = document.createElement("div");
    div.className = "msg bot" + (reply.notice ? " notice" : "");
    div.append(hidden(T.bot + "："));
    const sources = Array.isArray(reply.sources) ? reply.sources : [];
    for (const line of linesOf(reply)) {
      const text = String((line && line.text) || "");
      if (!text.trim()) continue;
      const p = document.createElement("p");
      p.textContent = text;
      const source = line && Number.isInteger(line.source) ? sources[line.source] : null;
      if (source) {
        p.className = "source";
        // The quoted passage and the document's date, on hover or long press.
        p.title = [source.quote, source.doc_no, source.date].filter((x) => typeof x === "string" && x).join("\n");
        if (typeof source.entry_id === "string") p.dataset.entry = source.entry_id;
      }
      div.append(p);
    }
    if (Array.isArray(reply.buttons) && reply.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of reply.buttons) {
        if (!b || typeof b.title !== "string" || typeof b.payload !== "string") continue;
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", () => send(b.payload, b.title));
        row.append(btn);
      }
      div.append(row);
    }
    if (reply.handoff) addHandoffControls(div, reply.handoff);
    log.append(div);
  }

  // A hand-off, from its data: the ticket code to keep and a button that dials the
  // hotline routing chose. What it means is said in the reply's own text.
  function addHandoffControls(div, handoff) {
    div.classList.add("handoff");
    const row = document.createElement("div");
    row.className = "handoff-controls";
    const ticket = String(handoff.ticket || "");
    if (ticket) {
      const code = document.createElement("strong");
      code.className = "ticket";
      code.textContent = ticket;
      row.append(code);
    }
    const number = String(handoff.hotline || "");
    if (/^\d[\d-]*$/.test(number)) { // anything but a phone number is not dialled
      const a = document.createElement("a");
      a.href = "tel:" + number;
      a.textContent = T.call + number;
      row.append(a);
    }
    div.append(row);
  }

  // ---- reading aloud (elder mode) --------------------------------------------
  // What to read is decided by the server (the reply's "speech"): not the source lines.
  let player = null;
  function chineseVoice() {
    if (!window.speechSynthesis) return null;
    // Only voices on this device: a network voice sends the reply text to the
    // browser maker's service. Without one the gateway reads it (espeak-ng, local).
    const voices = speechSynthesis.getVoices().filter((v) => v.localService === true);
    return voices.find((v) => /^zh[-_]CN/i.test(v.lang)) || voices.find((v) => /^(zh|cmn)/i.test(v.lang)) || null;
  }
  function speak(words) {
    words = String(words || "").slice(0, 300);
    if (!words.trim()) return;
    const voice = chineseVoice();
    if (voice) {
      speechSynthesis.cancel();
      const u = new SpeechSynthesisUtterance(words);
      u.voice = voice; u.lang = voice.lang; u.rate = 0.8;
      speechSynthesis.speak(u);
      return;
    }
    // No Chinese voice in this browser: the server reads it (espeak-ng).
    if (player) player.pause();
    player = new Audio("/api/tts?text=" + encodeURIComponent(words));
    player.play().catch(() => { /* autoplay refused or TTS unavailable: the text is on screen */ });
  }

  // ---- sending ---------------------------------------------------------------
  let busy = false;
  async function send(text, shown) {
    text = String(text || "").trim();
    if (!text || busy) return;
    busy = true;
    form.setAttribute("aria-busy", "true");
    addUser(shown || text);
    status.textContent = T.sending;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let data = null;
    try {
      const body = { text: text, mode: elder ? "elder" : "standard" };
      if (place.value) body.city = place.value;
      const resp = await fetch("/api/chat", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      data = await resp.json().catch(() => null);
      if (!resp.ok && !(data && Array.isArray(data.replies))) {
        data = { replies: [{ text: (data && data.error) || T.failed }] };
      }
    } catch (e) {
      data = { replies: [{ text: T.failed }] };
    } finally {
      clearTimeout(timer);
      busy = false;
      form.removeAttribute("aria-busy");
      status.textContent = "";
    }
    const replies = Array.isArray(data.replies) ? data.replies : [];
    if (data.new_session) {
      // The resident's records were deleted: the screen starts afresh as well.
      for (const m of [...log.querySelectorAll(".msg")].slice(1)) m.remove();
    }
    for (const r of replies) addBot(r);
    if (data.handoff && !replies.some((r) => r && r.handoff)) {
      // A hand-off without a reply of its own (not sent by the actions, but possible).
      const div = document.createElement("div");
      div.className = "msg bot";
      addHandoffControls(div, data.handoff);
      log.append(div);
    }
    scrollDown();
    // The server's reading script; a message made here (network failure) is read as it is.
    if (elder) speak(typeof data.speech === "string" ? data.speech : replies.map((r) => String(r.text || "")).join("。"));
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (ev) => {
    // Enter sends, Shift+Enter starts a new line; IME composition is left alone.
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  for (const btn of document.querySelectorAll(".topics button")) {
    btn.addEventListener("click", () => send(btn.dataset.payload, btn.textContent));
  }
  for (const btn of elderActions.querySelectorAll("button")) {
    btn.addEventListener("click", () => send(btn.dataset.text));
  }

  // ---- push-to-talk ------------------------------------------------------------
  // Recorded here and recognised by the gateway's own ASR (/api/asr) only.
  // "server": available; "unknown": not asked yet; "not-here": no ASR_URL; "none":
  // this browser cannot record.
  const canRecord = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder);
  let voiceInput = canRecord ? "unknown" : "none";
  let recorder = null, chunks = [], holding = false;

  function voiceNotHere(announce) {
    voiceInput = "not-here";
    $("mic-help").textContent = T.micNotHere;
    if (announce) status.textContent = T.micNotHere;
  }

  async function startTalking() {
    if (voiceInput === "not-here") { status.textContent = T.micNotHere; return; }
    if (voiceInput === "none") { status.textContent = T.micUnavailable; return; }
    if (holding) return;
    holding = true;
    mic.textContent = T.micRelease;
    mic.classList.add("active");
    status.textContent = T.micListening;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        transcribe(new Blob(chunks, { type: recorder.mimeType || "audio/webm" }));
      };
      recorder.start();
      if (!holding) recorder.stop(); // released before the microphone opened
    } catch (e) {
      status.textContent = T.micNoPermission;
      stopTalking();
    }
  }

  function stopTalking() {
    if (!holding) return;
    holding = false;
    mic.textContent = T.micHold;
    mic.classList.remove("active");
    if (recorder && recorder.state === "recording") recorder.stop();
  }

  async function transcribe(blob) {
    if (!blob.size) { status.textContent = T.micNothing; return; }
    try {
      const resp = await fetch("/api/asr", {
        method: "POST",
        headers: { "Content-Type": (blob.type || "audio/webm").split(";")[0] },
        body: blob,
      });
      if (resp.status === 503) { voiceNotHere(true); return; }
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok) { status.textContent = data.error || T.micUnavailable; return; }
      if (data.text && data.text.trim()) { status.textContent = ""; send(data.text); }
      else status.textContent = T.micNothing;
    } catch (e) {
      status.textContent = T.failed;
    }
  }

  mic.addEventListener("pointerdown", (ev) => { ev.preventDefault(); startTalking(); });
  mic.addEventListener("pointerup", stopTalking);
  mic.addEventListener("pointerleave", stopTalking);
  mic.addEventListener("pointercancel", stopTalking);
  mic.addEventListener("keydown", (ev) => {
    if ((ev.key === " " || ev.key === "Enter") && !ev.repeat) { ev.preventDefault(); startTalking(); }
  });
  mic.addEventListener("keyup", (ev) => {
    if (ev.key === " " || ev.key === "Enter") { ev.preventDefault(); stopTalking(); }
  });
  mic.addEventListener("contextmenu", (ev) => ev.preventDefault()); // long press on phones

  // Does the gateway recognise speech? If not, voice input is not offered here.
  fetch("/api/voice").then((r) => r.json()).then((v) => {
    if (voiceInput === "unknown") {
      if (v.asr) {
        voiceInput = "server";
        $("mic-help").textContent = T.micWhere.replace("{p}", String(v.asr_provider || ""));
      } else voiceNotHere(false);
    }
    applyElder(false);
  }).catch(() => applyElder(false));

  // The session: a new one comes with the privacy notice, shown before anything is typed.
  fetch("/api/session", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
    for (const r of Array.isArray(data.replies) ? data.replies : []) addBot(r);
    scrollDown();
  }).catch(() => { /* the first message opens the session instead */ });
  if (window.speechSynthesis) speechSynthesis.getVoices(); // voices load asynchronously
  applyElder(false);
})();
