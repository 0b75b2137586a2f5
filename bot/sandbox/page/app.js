// The sandbox page: a small Slack client for the local workspace, plus Stripe and the audit
// log on the side. It only reads and writes the JSON of /sandbox/api/* (see the contract).
//
// Everything shown comes from the bot or a person, so it is untrusted: the DOM is built with
// createElement and text nodes only, never innerHTML.

const STATE_EVERY_MS = 700;
const SIDE_EVERY_MS = 1500;
// The backend lists its users only to a known user, so the first poll has to name one: the
// contract's first user. accept() then switches to whoever `users` lists first.
const FALLBACK_USER = "U0SALES1";
const STORED_USER = "sandbox.as";
const STORED_CHANNEL = "sandbox.channel";
const BOTTOM_SLACK_PX = 40; // "at the bottom" within this distance

const EMOJI = {
  white_check_mark: "✅", x: "❌", warning: "⚠️", rotating_light: "🚨", hourglass: "⏳",
  hourglass_flowing_sand: "⏳", moneybag: "💰", memo: "📝", lock: "🔒", bell: "🔔",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", heavy_check_mark: "✔️",
  no_entry: "🚫", no_entry_sign: "🚫", arrows_counterclockwise: "🔄", clock3: "🕒",
  receipt: "🧾", wave: "👋", tada: "🎉", eyes: "👀", "+1": "👍", thumbsup: "👍",
  information_source: "ℹ️", money_with_wings: "💸", credit_card: "💳", bar_chart: "📊",
  // and the others the bot uses
  repeat: "🔁", key: "🔑", wastebasket: "🗑️", scroll: "📜", scales: "⚖️", pencil2: "✏️",
  leftwards_arrow_with_hook: "↩️", end: "🔚", calendar: "📆", arrow_up: "⬆️",
};

const app = {
  me: localStorage.getItem(STORED_USER) || FALLBACK_USER,
  channel: localStorage.getItem(STORED_CHANNEL),
  state: null,
  rendered: { key: null, channel: null, me: null, lastItem: null },
  stick: true, // the log was scrolled to the bottom: keep it there
  epoch: 0, // bumped at the start and end of every write: older polls may be stale
  writes: 0, // writes in flight
  inflight: new Set(), // keys of buttons whose click is in flight
  nodes: new Map(), // timeline item key -> {sig, node}: unchanged messages keep their DOM
  namesSig: "",
  seen: new Map(), // channel id -> newest ts seen, for the unread mark
  view: { id: null, errorsSig: null, returnFocus: null },
  side: { stripe: { text: "", seq: 0 }, audit: { text: "", seq: 0 } },
  history: [],
  historyAt: 0,
};

const $ = (id) => document.getElementById(id);

// ---- DOM helpers ---------------------------------------------------------------------------

/** createElement with attributes ("text" sets textContent, on* adds a listener). Children
 * may be nodes or strings; strings become text nodes, so nothing is ever parsed as HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) if (child != null && child !== "") node.append(child);
  return node;
}

/** Run `redraw`, then give the focus back to the element with the same data-key: a redraw
 * replaces buttons, and a keyboard user should not be thrown back to the top. */
function keepingFocus(container, redraw) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : null;
  redraw();
  if (!key) return;
  const again = [...container.querySelectorAll("[data-key]")].find((n) => n.dataset.key === key);
  if (again && again !== document.activeElement) again.focus({ preventScroll: true });
}

function showError(message) {
  $("command-error").textContent = message || "";
}

// ---- talking to the backend ----------------------------------------------------------------

async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  return res.json();
}

/** POST a write. Always resolves to {ok, error?, errors?}; polls sent meanwhile are dropped
 * (they may predate the write) and a fresh poll follows at once. */
async function post(path, body) {
  app.epoch += 1;
  app.writes += 1;
  try {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => null);
    if (data && typeof data === "object") return data;
    return { ok: false, error: `The sandbox answered HTTP ${res.status}.` };
  } catch {
    return { ok: false, error: "Could not reach the sandbox." };
  } finally {
    app.writes -= 1;
    app.epoch += 1;
    pollStateNow();
  }
}

const loop = { busy: false, again: false, timer: 0 };

function pollStateNow() {
  if (loop.busy) loop.again = true;
  else {
    clearTimeout(loop.timer);
    pollState();
  }
}

/** One poll at a time; the next is scheduled when this one ends. */
async function pollState() {
  loop.busy = true;
  loop.again = false;
  const epoch = app.epoch;
  const asked = app.me;
  try {
    const state = await getJSON(`/sandbox/api/state?as=${encodeURIComponent(asked)}`);
    if (epoch === app.epoch && app.writes === 0 && asked === app.me) accept(state);
  } catch (err) {
    if (err.status === 400 && asked !== FALLBACK_USER) {
      app.me = FALLBACK_USER; // the remembered user is not in this sandbox
      localStorage.removeItem(STORED_USER);
      loop.again = true;
    } else {
      $("connection").textContent = "Cannot reach the sandbox; retrying…";
    }
  } finally {
    loop.busy = false;
    loop.timer = setTimeout(pollState, loop.again ? 0 : STATE_EVERY_MS);
  }
}

function accept(state) {
  const ids = (state.users || []).map((u) => u.id);
  const remembered = localStorage.getItem(STORED_USER);
  if (!ids.includes(app.me) || !remembered) {
    app.me = ids.includes(remembered) ? remembered : ids[0] ?? state.me;
    localStorage.setItem(STORED_USER, app.me);
    if (state.me !== app.me) {
      loop.again = true; // ask again, as the default user
      return;
    }
  }
  app.state = state;
  // Not in the contract, but the backend says so while it makes the sample history.
  $("connection").textContent = state.ready === false ? "Making the sample history…" : "";
  render();
}

// ---- the page ------------------------------------------------------------------------------

function currentChannel(state) {
  const channels = state.channels || [];
  return (
    channels.find((c) => c.id === app.channel) ||
    channels.find((c) => c.name === "approvals") ||
    channels[0] || { id: "", name: "", kind: "channel", messages: [] }
  );
}

function channelLabel(channel) {
  return channel.kind === "dm" ? channel.name : `# ${channel.name}`;
}

/** Called on every poll; the dialog has its own change test, the rest redraws only when
 * the version, the acting user or the channel changed. */
function render() {
  const state = app.state;
  const channel = currentChannel(state);
  renderView(state.view);
  const key = `${state.version}|${state.me}|${channel.id}`;
  if (key === app.rendered.key) return;
  const switched = app.rendered.channel !== channel.id || app.rendered.me !== state.me;
  Object.assign(app.rendered, { key, channel: channel.id, me: state.me });
  $("workspace").textContent = state.workspace || "Sandbox";
  document.title = `${channelLabel(channel)} · ${state.workspace || "Sandbox"}`;
  renderUsers(state);
  renderNav(state, channel);
  renderChannel(state, channel, switched);
  refreshSide(); // a new version often means Stripe or the audit log moved too
}

function renderUsers(state) {
  const select = $("acting-as");
  const sig = JSON.stringify(state.users);
  if (select.dataset.sig !== sig) {
    select.dataset.sig = sig;
    select.replaceChildren(...state.users.map((u) => el("option", { value: u.id }, u.name)));
  }
  select.value = state.me;
  const me = state.users.find((u) => u.id === state.me);
  $("acting-role").textContent = me ? `Role: ${me.role}` : "";
}

function selectUser(id) {
  app.me = id;
  localStorage.setItem(STORED_USER, id);
  showError("");
  if (app.view.id) closeDialog(); // that was the other person's modal
  pollStateNow();
}

function renderNav(state, current) {
  const nav = document.querySelector("nav.channels");
  keepingFocus(nav, () => {
    const items = (kind) => state.channels.filter((c) => (c.kind === "dm") === (kind === "dm"));
    $("channel-list").replaceChildren(...items("channel").map((c) => navItem(c, current)));
    $("dm-list").replaceChildren(...items("dm").map((c) => navItem(c, current)));
    $("dm-heading").hidden = items("dm").length === 0;
  });
}

function navItem(channel, current) {
  const newest = channel.messages.at(-1)?.ts || "0";
  if (!app.seen.has(channel.id) || channel.id === current.id) app.seen.set(channel.id, newest);
  const unread = compareTs(newest, app.seen.get(channel.id)) > 0;
  const button = el(
    "button",
    {
      type: "button",
      class: `nav-item${unread ? " unread" : ""}`,
      "data-key": `nav:${channel.id}`,
      "aria-current": channel.id === current.id ? "true" : null,
      title: unread ? "New messages" : null,
      onclick: () => selectChannel(channel.id),
    },
    channelLabel(channel),
  );
  return el("li", {}, button);
}

function selectChannel(id) {
  app.channel = id;
  localStorage.setItem(STORED_CHANNEL, id);
  app.rendered.key = null;
  if (app.state) render();
  $("command").focus();
}

// ---- the channel's messages ----------------------------------------------------------------

/** Slack timestamps are "seconds.micros" strings: compare them exactly, not as floats. */
function compareTs(a, b) {
  const [as, af = ""] = String(a).split(".");
  const [bs, bf = ""] = String(b).split(".");
  return Number(as) - Number(bs) || af.padEnd(6, "0").localeCompare(bf.padEnd(6, "0"));
}

/** The channel's messages and the acting user's ephemerals for it, ordered by ts. */
function timeline(state, channel) {
  const items = channel.messages.map((m) => ({ kind: "msg", ts: m.ts, data: m }));
  for (const e of state.ephemerals || []) {
    if (e.channel === channel.id) items.push({ kind: "eph", ts: e.ts, data: e });
  }
  return items.sort((x, y) => compareTs(x.ts, y.ts)); // stable: ties keep their order
}

function renderChannel(state, channel, switched) {
  const log = $("messages");
  const label = channelLabel(channel);
  $("channel-title").textContent = label;
  $("channel-topic").textContent =
    channel.kind === "dm" ? "Your direct messages with the bot" : `${channel.messages.length} messages`;
  log.setAttribute("aria-label", label);

  const namesSig = JSON.stringify(state.names);
  if (namesSig !== app.namesSig || switched) app.nodes.clear(); // mentions may read differently
  app.namesSig = namesSig;

  const items = timeline(state, channel);
  const last = items.length ? `${items.at(-1).kind}:${items.at(-1).ts}` : "";
  const arrived = !switched && last !== app.rendered.lastItem && items.length > 0;
  app.rendered.lastItem = last;
  const top = log.scrollTop;

  keepingFocus(log, () => log.replaceChildren(...timelineNodes(state, channel, items)));
  if (switched || arrived || app.stick) scrollToBottom();
  else log.scrollTop = top;
}

function timelineNodes(state, channel, items) {
  if (!items.length) {
    return [el("p", { class: "empty" }, `No messages in ${channelLabel(channel)} yet.`)];
  }
  const nodes = [];
  const kept = new Map();
  let day = "";
  for (const item of items) {
    const date = tsDate(item.ts);
    if (date.toDateString() !== day) {
      day = date.toDateString();
      nodes.push(el("div", { class: "day" }, el("span", {}, dayLabel(date))));
    }
    const key = `${item.kind}:${item.ts}`;
    const sig = JSON.stringify(item.data);
    const cached = app.nodes.get(key);
    const node = cached && cached.sig === sig ? cached.node : messageNode(state, channel, item);
    kept.set(key, { sig, node });
    nodes.push(node);
  }
  app.nodes = kept;
  return nodes;
}

function scrollToBottom() {
  const log = $("messages");
  log.scrollTop = log.scrollHeight;
  app.stick = true;
}

function tsDate(ts) {
  return new Date(Number(String(ts).split(".")[0]) * 1000);
}

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  const options = { weekday: "long", month: "long", day: "numeric", year: "numeric" };
  return date.toLocaleDateString(undefined, options);
}

function botName(state) {
  const dm = state.channels.find((c) => c.kind === "dm");
  return state.names?.U0EMPIREBOT || dm?.name || "Business Empire";
}

function messageNode(state, channel, item) {
  const m = item.data;
  const ephemeral = item.kind === "eph";
  const name = ephemeral ? botName(state) : m.name || state.names?.[m.user] || m.user || "Unknown";
  const when = tsDate(item.ts);
  const ctx = { state, channel: channel.id, ts: item.ts };
  const head = el(
    "div",
    { class: "msg-head" },
    el("span", { class: "msg-name" }, name),
    ephemeral || m.bot ? el("span", { class: "app-tag" }, "APP") : null,
    el(
      "time",
      { class: "msg-time", datetime: when.toISOString(), title: when.toLocaleString() },
      when.toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" }),
    ),
    m.edited ? el("span", { class: "msg-edited" }, "(edited)") : null,
  );
  const blocks = Array.isArray(m.blocks) ? m.blocks : [];
  const body = blocks.length
    ? el("div", { class: `card ${cardTone(blocks)}` }, renderBlocks(blocks, ctx))
    : mrkdwn(m.text, state);
  return el(
    "article",
    { class: `msg${ephemeral ? " ephemeral" : ""}`, "data-ts": item.ts },
    ephemeral ? el("p", { class: "only-you" }, "Only visible to you") : null,
    el("div", { class: "msg-row" }, avatar(m.user || "bot", name, ephemeral || m.bot),
      el("div", { class: "msg-main" }, head, body, (m.files || []).map(fileNode))),
  );
}

function avatar(id, name, bot) {
  const initials = bot ? "BE" : name.replace(/\(.*\)/, "").trim().slice(0, 1).toUpperCase();
  const hue = [...id].reduce((sum, ch) => sum + ch.charCodeAt(0), 0) % 6;
  return el("div", { class: `avatar ${bot ? "bot" : `c${hue}`}`, "aria-hidden": "true" }, initials);
}

/** Purely cosmetic: colour the card's left border from the status line our cards end with. */
function cardTone(blocks) {
  const words = blocks
    .filter((b) => b.type === "section" && b.text)
    .map((b) => b.text.text || "")
    .join(" ");
  const primary = (b) => b.type === "actions" && b.elements?.some((e) => e.style === "primary");
  if (blocks.some(primary)) return "tone-wait";
  if (/^(Executed)/m.test(words)) return "tone-ok";
  if (/^(Denied|Failed|Rejected)/m.test(words)) return "tone-bad";
  return "";
}

function fileNode(file) {
  const title = file.title || file.id || "file";
  const href = safeUrl(file.url);
  if (String(file.mimetype).startsWith("image/") && href) {
    const img = el("img", { src: href, alt: title });
    img.addEventListener("load", () => app.stick && scrollToBottom()); // it grew the log
    return el("figure", { class: "file" }, el("figcaption", {}, title),
      el("a", { href, target: "_blank", rel: "noopener" }, img));
  }
  const link = href ? el("a", { href, target: "_blank", rel: "noopener" }, `📎 ${title}`) : null;
  return el("p", { class: "file" }, link || title);
}

/** Links may only go to the web, mail, or this server; anything else is shown as text. */
function safeUrl(url) {
  const text = String(url ?? "");
  return /^(https?:|mailto:)/i.test(text) || /^\/(?!\/)/.test(text) ? text : null;
}

// ---- Block Kit -----------------------------------------------------------------------------

function renderBlocks(blocks, ctx) {
  return blocks.map((block) => renderBlock(block, ctx));
}

function renderBlock(block, ctx) {
  switch (block?.type) {
    case "header":
      return el("h3", { class: "b-header" }, plainText(block.text));
    case "divider":
      return el("hr", { class: "b-divider" });
    case "image":
      return imageBlock(block);
    case "section":
      return sectionBlock(block, ctx);
    case "context":
      return el("div", { class: "b-context" }, (block.elements || []).map((e) => contextElement(e, ctx)));
    case "actions":
      return el("div", { class: "b-actions" },
        (block.elements || []).map((e) => actionElement(e, ctx, block.block_id)));
    case "input":
      if (ctx.input) return ctx.input(block);
    // falls through: an input outside a modal is shown as text
    default: {
      const text = block?.text ?? block?.label;
      return el("div", { class: "b-unknown" }, text ? textObject(text, ctx) : `[${block?.type ?? "block"}]`);
    }
  }
}

function imageBlock(block) {
  const src = safeUrl(block.image_url);
  return el("figure", { class: "b-image" },
    block.title ? el("figcaption", {}, plainText(block.title)) : null,
    src ? el("img", { src, alt: block.alt_text || "" })
      : el("span", { class: "muted" }, block.alt_text || "image"));
}

function sectionBlock(block, ctx) {
  const main = el("div", { class: "b-section-main" });
  if (block.text) main.append(textObject(block.text, ctx));
  if (block.fields?.length) {
    const fields = block.fields.map((f) => el("div", { class: "b-field" }, textObject(f, ctx)));
    main.append(el("div", { class: "b-fields" }, fields)); // two columns, as Slack shows them
  }
  const accessory = block.accessory;
  let side = null;
  if (accessory?.type === "image") {
    const src = safeUrl(accessory.image_url);
    side = el("img", { class: "b-accessory-img", src, alt: accessory.alt_text || "" });
  }
  else if (accessory) side = actionElement(accessory, ctx, block.block_id);
  return el("div", { class: "b-section" }, main, side ? el("div", { class: "b-accessory" }, side) : null);
}

function contextElement(element, ctx) {
  if (element?.type === "image") {
    return el("img", { class: "ctx-img", src: safeUrl(element.image_url), alt: element.alt_text || "" });
  }
  return el("span", { class: "ctx-text" }, textObject(element, ctx));
}

function actionElement(element, ctx, blockId) {
  if (element?.type !== "button") {
    const text = plainText(element?.text || element?.placeholder) || `[${element?.type}]`;
    return el("span", { class: "muted" }, text);
  }
  const label = plainText(element.text);
  const style = element.style === "primary" || element.style === "danger" ? ` ${element.style}` : "";
  if (element.url) {
    const href = safeUrl(element.url);
    return href ? el("a", { class: `btn${style}`, href, target: "_blank", rel: "noopener noreferrer" }, label)
      : el("span", { class: `btn${style}`, "aria-disabled": "true" }, label);
  }
  const key = `click:${ctx.channel}:${ctx.ts}:${blockId ?? ""}:${element.action_id ?? ""}`;
  const busy = app.inflight.has(key);
  const body = {
    channel: ctx.channel,
    ts: ctx.ts,
    action_id: element.action_id ?? "",
    value: element.value ?? "",
    block_id: blockId ?? "",
  };
  return el("button", {
    type: "button",
    class: `btn${style}`,
    "data-key": key,
    disabled: busy,
    "aria-busy": busy ? "true" : null,
    onclick: () => clickButton(key, body),
  }, label);
}

function setBusy(key, busy) {
  for (const node of document.querySelectorAll("button[data-key]")) {
    if (node.dataset.key !== key) continue;
    node.disabled = busy;
    if (busy) node.setAttribute("aria-busy", "true");
    else node.removeAttribute("aria-busy");
  }
}

async function clickButton(key, body) {
  if (app.inflight.has(key)) return;
  app.inflight.add(key);
  setBusy(key, true);
  app.view.returnFocus = document.activeElement;
  const res = await post("/sandbox/api/click", { as: app.me, ...body });
  app.inflight.delete(key);
  setBusy(key, false);
  showError(res.ok ? "" : res.error || "The click went nowhere.");
}

// ---- text objects and mrkdwn ---------------------------------------------------------------

function emojify(text) {
  return String(text).replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] ?? code);
}

function plainText(object) {
  if (object == null) return "";
  if (typeof object === "string") return object;
  return object.emoji === false ? String(object.text ?? "") : emojify(object.text ?? "");
}

function textObject(object, ctx) {
  if (object?.type === "mrkdwn") return mrkdwn(object.text, ctx.state);
  return el("div", { class: "plain" }, plainText(object));
}

const ENTITIES = { lt: "<", gt: ">", amp: "&" };
function decode(text) {
  return String(text).replace(/&(lt|gt|amp);/g, (_, name) => ENTITIES[name]);
}

/** mrkdwn as DOM: ```pre``` fences, then "> " quote lines and paragraphs, then inline marks. */
function mrkdwn(text, state) {
  const root = el("div", { class: "mrkdwn" });
  const parts = String(text ?? "").split("```");
  parts.forEach((part, index) => {
    const fenced = index % 2 === 1 && index < parts.length - 1;
    if (fenced) {
      root.append(el("pre", {}, decode(part.replace(/^\n/, "").replace(/\n$/, ""))));
      return;
    }
    let body = index % 2 === 1 ? "```" + part : part; // an unclosed fence is just text
    if (index > 0) body = body.replace(/^\n/, "");
    if (index < parts.length - 1) body = body.replace(/\n$/, "");
    if (body) appendLines(root, body, state);
  });
  return root;
}

function appendLines(root, text, state) {
  let group = null;
  for (const line of text.split("\n")) {
    const quote = line.match(/^(?:>|&gt;) ?(.*)$/);
    const tag = quote ? "blockquote" : "p";
    if (!group || group.tagName.toLowerCase() !== tag) {
      group = el(tag);
      root.append(group);
    } else {
      group.append(el("br"));
    }
    inline(group, quote ? quote[1] : line, state);
  }
}

// `code`, <angle tokens>, *bold*, _italic_, ~strike~ (not inside words), :emoji:
const INLINE = new RegExp(
  [
    "`([^`\\n]+)`",
    "<([^<>\\n]+)>",
    "(?<![\\p{L}\\p{N}*])\\*(?=\\S)([^*\\n]*?\\S)\\*(?![\\p{L}\\p{N}*])",
    "(?<![\\p{L}\\p{N}_])_(?=\\S)([^_\\n]*?\\S)_(?![\\p{L}\\p{N}_])",
    "(?<![\\p{L}\\p{N}~])~(?=\\S)([^~\\n]*?\\S)~(?![\\p{L}\\p{N}~])",
    ":([a-z0-9_+-]+):",
  ].join("|"),
  "gu",
);

function inline(parent, text, state) {
  let at = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > at) parent.append(decode(text.slice(at, match.index)));
    const [whole, code, angle, bold, italic, strike, emoji] = match;
    if (code !== undefined) parent.append(el("code", {}, decode(code)));
    else if (angle !== undefined) parent.append(angleToken(angle, state));
    else if (bold !== undefined) inline(parent.appendChild(el("strong")), bold, state);
    else if (italic !== undefined) inline(parent.appendChild(el("em")), italic, state);
    else if (strike !== undefined) inline(parent.appendChild(el("s")), strike, state);
    else parent.append(EMOJI[emoji] ?? whole);
    at = match.index + whole.length;
  }
  if (at < text.length) parent.append(decode(text.slice(at)));
}

/** <@U…>, <#C…|name>, <!here>, <!date^…|fallback>, <https://url|label>. */
function angleToken(inner, state) {
  const bar = inner.indexOf("|");
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? null : decode(inner.slice(bar + 1));
  const names = state?.names || {};
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return el("span", { class: "mention" }, `@${names[id] || label || id}`);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return el("span", { class: "mention channel-ref" }, `#${label || names[id] || id}`);
  }
  if (target.startsWith("!")) return special(target.slice(1), label);
  const href = safeUrl(decode(target));
  if (href && !href.startsWith("/")) {
    return el("a", { href, target: "_blank", rel: "noopener noreferrer" }, label ?? decode(target));
  }
  return document.createTextNode(label ?? decode(inner));
}

function special(command, label) {
  if (command.startsWith("date^")) return slackDate(command, label);
  const broadcast = { here: "@here", channel: "@channel", everyone: "@everyone" }[command];
  if (broadcast) return el("span", { class: "mention broadcast" }, broadcast);
  return document.createTextNode(label ?? `<!${command}>`);
}

/** <!date^unix^{date_short_pretty} at {time}|fallback>, shown in the reader's time zone. */
function slackDate(command, fallback) {
  const [, seconds, format] = command.split("^");
  const when = new Date(Number(seconds) * 1000);
  if (!format || Number.isNaN(when.getTime())) return document.createTextNode(fallback ?? command);
  const fmt = (options) => when.toLocaleString(undefined, options);
  const pretty = (plain) => {
    const day = dayLabel(when);
    return day === "Today" || day === "Yesterday" ? day : plain;
  };
  const short = fmt({ month: "short", day: "numeric", year: "numeric" });
  const long = fmt({ weekday: "long", month: "long", day: "numeric", year: "numeric" });
  const medium = fmt({ month: "long", day: "numeric", year: "numeric" });
  const tokens = {
    date_num: when.toISOString().slice(0, 10), date: medium, date_short: short, date_long: long,
    date_pretty: pretty(medium), date_short_pretty: pretty(short), date_long_pretty: pretty(long),
    time: fmt({ hour: "numeric", minute: "2-digit" }),
    time_secs: fmt({ hour: "numeric", minute: "2-digit", second: "2-digit" }),
  };
  const text = format.replace(/\{(\w+)\}/g, (token, name) => tokens[name] ?? token);
  return el("time", { datetime: when.toISOString(), title: fallback }, text);
}

// ---- the modal -----------------------------------------------------------------------------

/** Build the dialog only for a new view id: rebuilding would wipe what is being typed.
 * Errors are applied in place. */
function renderView(view) {
  const dialog = $("modal");
  if (!view) {
    if (app.view.id) closeDialog();
    return;
  }
  if (view.id !== app.view.id) {
    if (!dialog.open) app.view.returnFocus = app.view.returnFocus || document.activeElement;
    buildDialog(view);
  }
  const errorsSig = JSON.stringify(view.errors || {});
  if (errorsSig !== app.view.errorsSig) applyErrors(view.errors || {});
  if (!dialog.open) {
    dialog.showModal();
    // showModal makes the page inert; aria-hidden says so to tools that only read ARIA, so
    // "Deny" names one button (the modal's), not also the card's behind it.
    document.querySelector(".app").setAttribute("aria-hidden", "true");
  }
}

function buildDialog(view) {
  const dialog = $("modal");
  app.view.id = view.id;
  app.view.errorsSig = null;
  let fields = 0;
  const ctx = { state: app.state, channel: null, ts: null };
  ctx.input = (block) => inputBlock(block, (fields += 1));
  const submit = (event) => {
    event.preventDefault();
    submitView(form, view.id);
  };
  // Slack always offers a way out; ours only when the view has no close button of its own.
  const cross = el("button",
    { type: "button", class: "modal-x", "aria-label": "Dismiss", onclick: dismissView }, "×");
  const form = el("form", { class: "modal-form", novalidate: true, onsubmit: submit },
    el("header", { class: "modal-head" },
      el("h2", { id: "modal-title" }, plainText(view.title) || "Dialog"),
      view.close ? null : cross),
    el("div", { class: "modal-body" },
      el("p", { class: "modal-error", id: "modal-error", role: "alert" }),
      renderBlocks(view.blocks || [], ctx)),
    el("footer", { class: "modal-foot" },
      view.close
        ? el("button", { type: "button", class: "btn", onclick: dismissView }, plainText(view.close))
        : null,
      view.submit
        ? el("button", { type: "submit", class: "btn primary" }, plainText(view.submit))
        : null),
  );
  dialog.replaceChildren(form);
  dialog.querySelector("input, textarea")?.setAttribute("autofocus", "");
}

function inputBlock(block, number) {
  const element = block.element || {};
  const id = `modal-field-${number}`;
  const label = el("label", { for: id, class: "field-label" }, plainText(block.label));
  if (element.type && element.type !== "plain_text_input") {
    const note = el("p", { class: "muted", id }, `(${element.type} is not supported here)`);
    return el("div", { class: "field" }, label, note);
  }
  const attrs = {
    id,
    "data-block": block.block_id ?? "",
    "data-action": element.action_id ?? "",
    maxlength: element.max_length,
    placeholder: element.placeholder ? plainText(element.placeholder) : null,
    "aria-required": block.optional ? null : "true",
  };
  const control = element.multiline
    ? el("textarea", { ...attrs, rows: 4 })
    : el("input", { ...attrs, type: "text" });
  control.value = element.initial_value ?? "";
  const hint = block.hint ? el("p", { class: "field-hint", id: `${id}-hint` }, plainText(block.hint)) : null;
  if (hint) control.setAttribute("aria-describedby", hint.id);
  return el("div", { class: "field", "data-block": block.block_id ?? "" },
    // "(optional)" sits outside the <label>, so the field's name is exactly the label
    el("div", { class: "field-top" },
      label, block.optional ? el("span", { class: "optional" }, "(optional)") : null),
    control, hint, el("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

/** Show each error under its field; errors naming no field go in the line at the top. */
function applyErrors(errors) {
  app.view.errorsSig = JSON.stringify(errors);
  const dialog = $("modal");
  const placed = new Set();
  let first = null;
  for (const field of dialog.querySelectorAll(".field")) {
    const control = field.querySelector("input, textarea");
    const line = field.querySelector(".field-error");
    if (!control || !line) continue;
    const message = Object.hasOwn(errors, field.dataset.block) ? errors[field.dataset.block] : null;
    const described = [field.querySelector(".field-hint")?.id, message ? line.id : null].filter(Boolean);
    line.textContent = message || "";
    line.hidden = !message;
    if (message) {
      placed.add(field.dataset.block);
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    } else control.removeAttribute("aria-invalid");
    if (described.length) control.setAttribute("aria-describedby", described.join(" "));
    else control.removeAttribute("aria-describedby");
  }
  const rest = Object.entries(errors).filter(([block]) => !placed.has(block)).map(([, text]) => text);
  const general = dialog.querySelector("#modal-error");
  if (general) general.textContent = rest.join(" ");
  if (first && !dialog.contains(document.activeElement)) first.focus();
  else if (first && document.activeElement?.getAttribute("aria-invalid") !== "true") first.focus();
}

async function submitView(form, viewId) {
  const values = {};
  for (const control of form.querySelectorAll("input[data-action], textarea[data-action]")) {
    (values[control.dataset.block] ??= {})[control.dataset.action] = control.value;
  }
  const submit = form.querySelector("button[type=submit]");
  if (submit) submit.disabled = true;
  const res = await post("/sandbox/api/submit", { as: app.me, view_id: viewId, values });
  if (submit) submit.disabled = false;
  if (app.view.id !== viewId) return;
  if (res.ok) closeDialog();
  else if (res.errors && Object.keys(res.errors).length) applyErrors(res.errors);
  else form.querySelector("#modal-error").textContent = res.error || "The form was not accepted.";
}

function dismissView() {
  const id = app.view.id;
  if (!id) return;
  closeDialog();
  post("/sandbox/api/close", { as: app.me, view_id: id }).then((res) => showError(res.ok ? "" : res.error));
}

function closeDialog() {
  const dialog = $("modal");
  const back = app.view.returnFocus;
  app.view = { id: null, errorsSig: null, returnFocus: null }; // first, so the close event is ours
  document.querySelector(".app").removeAttribute("aria-hidden");
  if (dialog.open) dialog.close();
  dialog.replaceChildren();
  const target = back?.isConnected && !back.disabled ? back : $("command");
  target.focus({ preventScroll: true });
}

// ---- Stripe and the audit log --------------------------------------------------------------

/** Fetch one side panel; redraw only when its JSON changed, and only from the newest fetch. */
async function refreshPanel(url, slot, draw) {
  const seq = (slot.seq += 1);
  try {
    const res = await fetch(url, { cache: "no-store" });
    const text = await res.text();
    if (!res.ok || seq !== slot.seq || text === slot.text) return;
    slot.text = text;
    draw(JSON.parse(text));
  } catch {
    // the state poll already reports a lost connection
  }
}

function refreshSide() {
  return Promise.all([
    refreshPanel("/sandbox/api/stripe", app.side.stripe, drawStripe),
    refreshPanel("/sandbox/api/audit", app.side.audit, drawAudit),
  ]);
}

async function pollSide() {
  await refreshSide();
  setTimeout(pollSide, SIDE_EVERY_MS);
}

/** rows: arrays of cells, or {cells, below} where `below` gets a full-width row of its own. */
function table(caption, headings, rows, empty) {
  const wide = (node, cls) => el("tr", { class: cls }, el("td", { colspan: headings.length }, node));
  const body = rows.length
    ? rows.flatMap((row) => {
      const cells = Array.isArray(row) ? row : row.cells;
      const tds = cells.map((cell) => el("td", {}, cell));
      const line = el("tr", { class: row.below ? "has-below" : null }, tds);
      return row.below ? [line, wide(row.below, "below")] : [line];
    })
    : [wide(empty, "muted")];
  return el("table", { class: "data" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, body));
}

const stack = (main, sub) => [el("div", {}, main), sub ? el("div", { class: "sub" }, sub) : null];
const nowrap = (text) => el("span", { class: "num" }, text);
const badge = (status) =>
  el("span", { class: `badge s-${String(status).replace(/[^a-z_]/gi, "")}` }, status || "—");
// Ids are long (in_1 + 23 characters): cut with an ellipsis, but a click selects all of it
// and copying gives the whole id, for typing into /empire commands.
const mono = (text) => el("span", { class: "mono id", title: text }, text);

function drawStripe(data) {
  const box = $("stripe-tables");
  keepingFocus(box, () => box.replaceChildren(
    table("Customers", ["Name", "Email", "Card"], (data.customers || []).map((c) => [
      stack(c.name || "—", mono(c.id)), c.email, c.card ? "On file" : "None",
    ]), "No customers yet."),
    table("Invoices", ["Invoice", "Customer", "Amount", "Status"], (data.invoices || []).map((i) => ({
      cells: [
        stack(i.number, mono(i.id)), stack(i.customer, i.description), nowrap(i.amount), badge(i.status),
      ],
      below: i.payable ? payButton(i) : null, // its own row: the button's name is long
    })), "No invoices yet."),
    table("Refunds", ["Refund", "Invoice", "Amount", "Status"], (data.refunds || []).map((r) => [
      mono(r.id), r.invoice || "—", el("span", { class: "num" }, r.amount), badge(r.status),
    ]), "No refunds yet."),
    table("Subscriptions", ["Subscription", "Customer", "Price", "Status"],
      (data.subscriptions || []).map((s) => [
      stack(s.plan || "—", mono(s.id)), s.customer, s.price, badge(s.status),
    ]), "No subscriptions yet."),
  ));
}

function payButton(invoice) {
  const key = `pay:${invoice.id}`;
  const busy = app.inflight.has(key);
  return el("button", {
    type: "button", class: "btn primary small", "data-key": key, disabled: busy,
    onclick: () => payInvoice(invoice.id, key),
  }, `Client pays ${invoice.number || invoice.id}`);
}

async function payInvoice(id, key) {
  if (app.inflight.has(key)) return;
  app.inflight.add(key);
  setBusy(key, true);
  const res = await post("/sandbox/api/stripe/pay", { invoice: id });
  app.inflight.delete(key);
  setBusy(key, false);
  $("stripe-error").textContent = res.ok ? "" : res.error || "The payment failed.";
  refreshSide();
}

function drawAudit(data) {
  const verify = data.verify || {};
  const entries = data.entries || [];
  $("audit-body").replaceChildren(
    el("p", { class: `verify ${verify.ok ? "ok" : "bad"}` },
      verify.ok ? "✓ " : "✗ ", verify.text || "Not verified"),
    table("Audit entries", ["#", "When", "Who", "Event", "Req."], entries.map((e) => {
      const [date, time] = String(e.at || "").split(" ");
      return [
        nowrap(e.id), stack(nowrap(time || date), time ? nowrap(date) : null),
        el("span", { title: e.actor }, e.actor_name || e.actor),
        stack(e.event, [e.detail, e.detail ? " · " : "", el("span", { class: "mono" }, e.hash)]),
        e.request ? `#${e.request}` : "—",
      ];
    }), "No entries yet."),
  );
}

// ---- the command box -----------------------------------------------------------------------

async function sendCommand(event) {
  event.preventDefault();
  const input = $("command");
  const text = input.value.trim();
  if (!text || !app.state) return;
  const send = $("send");
  send.disabled = true;
  const res = await post("/sandbox/api/command", { as: app.me, channel: currentChannel(app.state).id, text });
  send.disabled = false;
  if (res.ok) {
    if (input.value.trim() === text) input.value = ""; // unless they typed on meanwhile
    app.history.push(text);
    app.historyAt = app.history.length;
    showError("");
    app.stick = true; // the answer should come into view
  } else {
    showError(res.error || "The command was not accepted.");
  }
}

/** Up and Down walk through the commands sent, like a shell. */
function recall(event) {
  if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
  if (!app.history.length) return;
  const step = event.key === "ArrowUp" ? -1 : 1;
  app.historyAt = Math.min(app.history.length, Math.max(0, app.historyAt + step));
  event.preventDefault();
  event.target.value = app.history[app.historyAt] ?? "";
}

function start() {
  $("composer").addEventListener("submit", sendCommand);
  $("command").addEventListener("keydown", recall);
  $("acting-as").addEventListener("change", (event) => selectUser(event.target.value));
  const log = $("messages");
  log.addEventListener("scroll", () => {
    app.stick = log.scrollHeight - log.scrollTop - log.clientHeight < BOTTOM_SLACK_PX;
  });
  // A resized window rewraps the messages: stay at the bottom if we were there.
  new ResizeObserver(() => app.stick && scrollToBottom()).observe(log);
  const dialog = $("modal");
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault(); // Escape: tell the backend, which closes it on the next poll
    dismissView();
  });
  dialog.addEventListener("close", () => app.view.id && dismissView()); // closed by the browser
  pollState();
  pollSide();
}

start();
