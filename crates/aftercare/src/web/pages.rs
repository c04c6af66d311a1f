//! The console's pages: HTML and a little script that asks the console's JSON
//! and writes what it gets as text (never as markup), in Chinese or English.

const STYLE: &str = r#"
[hidden] { display: none !important; }
body { font-family: "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; margin: 0; color: #1f2933; }
header { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; padding: .6rem 1rem; background: #0b3c5d; color: #fff; }
header a, header button { color: #fff; background: none; border: 1px solid #fff6; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; text-decoration: none; font: inherit; }
main { padding: 1rem; max-width: 1280px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #d9e2ec; vertical-align: top; }
tr.overdue td { background: #fde8e8; }
tr.soon td { background: #fff4d6; }
.muted { color: #627d98; font-size: .9em; }
.login { max-width: 28rem; margin: 3rem auto; display: grid; gap: .8rem; padding: 0 1rem; }
input, select { font: inherit; padding: .4rem; }
button.primary { background: #0b6bcb; color: #fff; border: 0; border-radius: 4px; padding: .45rem .9rem; cursor: pointer; font: inherit; }
.error { color: #b91c1c; }
@media (max-width: 800px) { .wide { display: none; } }
.split { display: grid; grid-template-columns: minmax(0, 2fr) minmax(18rem, 1fr); gap: 1rem; align-items: start; }
@media (max-width: 1000px) { .split { grid-template-columns: 1fr; } }
aside section, .panel { border: 1px solid #d9e2ec; border-radius: 6px; padding: .6rem .8rem; margin-bottom: 1rem; }
aside h2, .panel h2 { font-size: 1.1rem; margin: .2rem 0 .6rem; }
fieldset { border: 1px solid #d9e2ec; border-radius: 4px; margin: 0 0 .6rem; }
.choices button { margin: .15rem; font: inherit; padding: .3rem .5rem; border: 1px solid #9fb3c8; border-radius: 4px; background: #fff; cursor: pointer; }
.choices button.chosen { background: #0b6bcb; color: #fff; border-color: #0b6bcb; }
.choices button:disabled { opacity: .45; cursor: not-allowed; }
.stack { display: grid; gap: .5rem; }
.done { color: #046c4e; }
.better { color: #046c4e; } .worse { color: #b91c1c; }
td.num, th.num { text-align: right; }
"#;

/// What every page's script shares: `$` and `text`, the language switch, a
/// POST with the session's CSRF token (`ask`), and `start`, which reads the
/// session (or goes to the sign-in), names the person, fills the dealer picker
/// from their scope, then runs the page.
const COMMON: &str = r#"
const $ = (id) => document.getElementById(id);
let session = null;
function text(id, value) { $(id).textContent = value; }
$("lang").onclick = (e) => { e.preventDefault(); document.cookie = "lang=" + T.otherLang + "; path=/; SameSite=Strict"; location.reload(); };
async function ask(path, body) {
  const answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf }, body: JSON.stringify(body || {}) });
  // The session ended (signed out elsewhere, expired): sign in again.
  if (answer.status === 401) { location.href = "/login"; }
  const json = await answer.json();
  if (!answer.ok) throw new Error(json.error);
  return json;
}
/// An ECharts chart in `el` that marks `el` drawn once it has rendered (and
/// animated) what it was last given.
function chart(el) {
  const c = echarts.init(el);
  c.on("finished", () => { el.dataset.drawn = "1"; });
  return c;
}
async function start(ready) {
  const answer = await fetch("/api/session");
  if (!answer.ok) { location.href = "/login"; return; }
  session = await answer.json();
  text("who", session.principal);
  if ($("dealer")) {
    const dealers = session.dealers.length ? session.dealers : [new URLSearchParams(location.search).get("dealer") || "D001"];
    for (const d of dealers) { const o = document.createElement("option"); o.value = d; o.textContent = d; $("dealer").appendChild(o); }
  }
  ready();
}
"#;

fn page(english: bool, title: &str, body: &str) -> String {
    let lang = if english { "en" } else { "zh-CN" };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )
}

/// The sign-in forms (a token, or a login and password), with the reason the
/// last attempt failed.
pub fn login(english: bool, error: Option<&str>) -> String {
    let (title, label, button, hint, or, user, password, other, other_lang) = if english {
        (
            "aftercare — sign in",
            "API token",
            "Sign in",
            "The token your administrator gave you (the embedded default writes one to data/admin.token).",
            "Or your console login",
            "Login",
            "Password",
            "中文",
            "zh",
        )
    } else {
        (
            "aftercare 售后关怀 — 登录",
            "访问令牌",
            "登录",
            "管理员发给您的令牌（内置默认配置写在 data/admin.token）。",
            "或使用控制台账号",
            "用户名",
            "密码",
            "English",
            "en",
        )
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<div class=\"login\"><h1>{title}</h1>{error}\
         <form id=\"by-token\" class=\"stack\" method=\"post\" action=\"/login\">\
         <label>{label}<br><input name=\"token\" type=\"password\" autocomplete=\"off\" required size=\"40\"></label>\
         <p class=\"muted\">{hint}</p>\
         <p><button class=\"primary\" type=\"submit\">{button}</button></p></form>\
         <form id=\"by-password\" class=\"stack panel\" method=\"post\" action=\"/login\"><h2>{or}</h2>\
         <label>{user}<br><input name=\"login\" autocomplete=\"username\" required size=\"30\"></label>\
         <label>{password}<br><input name=\"password\" type=\"password\" autocomplete=\"current-password\" required size=\"30\"></label>\
         <p><button class=\"primary\" type=\"submit\">{button}</button></p></form>\
         <p><a href=\"#\" onclick=\"document.cookie='lang={other_lang}; path=/; SameSite=Strict'; location.reload(); return false;\">{other}</a></p>\
         </div>"
    );
    page(english, title, &body)
}

/// The callback agent's worklist: due and overdue calls with deadline colours,
/// claim and attempts in a click; a reached call opens beside the list for its
/// outcome (satisfaction, an appointment picked from the day's free slots, a
/// churn reason, a complaint); the month's measures, the agent's and the
/// dealer's, under it.
pub fn worklist(english: bool, pages: &[&str]) -> String {
    let (title, strings) = if english {
        ("Worklist", WORKLIST_EN)
    } else {
        ("回访工作台", WORKLIST_ZH)
    };
    let body = WORKLIST
        .replace("__NAV__", &nav(english, pages))
        .replace("__STRINGS__", strings)
        .replace("__COMMON__", COMMON);
    page(english, title, &body)
}

const WORKLIST_EN: &str = r#"{"title":"Worklist","dealer":"Dealer","mine":"Only mine","kind":"Call","customer":"Customer","vehicle":"Vehicle","cause":"Why","due":"Due","who":"Assigned / claimed","claim":"Claim","overdue":"overdue","total":"tasks","none":"No calls due.","signout":"Sign out","other":"中文","otherLang":"zh","noAnswer":"No answer","reached":"Reached","showFile":"The customer's file and the vehicle's visits","noVisits":"No visits on file.","onCall":"On the call","satisfaction":"Satisfaction","sat":["Very dissatisfied","Dissatisfied","Neutral","Satisfied","Very satisfied"],"appointment":"Appointment","day":"Day","slot":"Slot {n}","free":"{n} of {of} free","full":"full","reason":"Churn reason","noReason":"—","note":"Note","complaint":"Complaint on the call","record":"Record outcome","close":"Close","recorded":"Outcome recorded.","booked":"Booked: slot {n} on {day}.","month":"This month","me":"Mine","all":"Dealer","figures":{"reach_rate":"Calls reached","appointment_rate":"Reached calls with an appointment","callback_rate":"Callbacks within their window","lead_compliance":"Leads called within 30 minutes","winback_appointment_rate":"Win-back calls with an appointment","sales_satisfaction":"Satisfied after sales","service_satisfaction":"Satisfied after service"},"reasons":{"MILEAGE_NOT_DUE":"Mileage not due yet","NO_TIME":"No time","CAR_SOLD":"Car sold","MOVED_AWAY":"Moved away","OTHER_DEALER":"Another dealer","INDEPENDENT_SHOP":"Independent shop","PRICE":"Price","SERVICE_QUALITY":"Service quality","DISTANCE":"Distance","INSURER_SENT_ELSEWHERE":"Insurer sent it elsewhere"},"kinds":{"POST_SALE":"Post-sale call","POST_SERVICE":"Post-service call","LEAD_FIRST_CONTACT":"Lead first contact","WINBACK":"Win-back","FIRST_SERVICE_REMINDER":"First service reminder","MAINTENANCE_REMINDER":"Maintenance reminder","INSURANCE_REMINDER":"Insurance reminder","BIRTHDAY":"Birthday greeting","INSPECTION_REMINDER":"Inspection reminder","CHURN_RISK":"Churn-risk call"}}"#;

const WORKLIST_ZH: &str = r#"{"title":"回访工作台","dealer":"经销商","mine":"只看我的","kind":"回访类型","customer":"客户","vehicle":"车辆","cause":"原因","due":"截止","who":"负责人 / 认领人","claim":"认领","overdue":"已逾期","total":"个任务","none":"暂无到期回访。","signout":"退出","other":"English","otherLang":"en","noAnswer":"未接通","reached":"已接通","showFile":"客户档案与车辆维修记录","noVisits":"暂无维修记录。","onCall":"通话中","satisfaction":"满意度","sat":["非常不满意","不满意","一般","满意","非常满意"],"appointment":"预约进店","day":"日期","slot":"第{n}时段","free":"空闲 {n}/{of}","full":"已满","reason":"流失原因","noReason":"—","note":"备注","complaint":"客户投诉内容","record":"保存结果","close":"关闭","recorded":"结果已保存。","booked":"已预约：{day} 第{n}时段。","month":"本月业绩","me":"我的","all":"全店","figures":{"reach_rate":"接通率","appointment_rate":"接通后预约率","callback_rate":"按时回访率","lead_compliance":"线索30分钟响应率","winback_appointment_rate":"流失回访预约率","sales_satisfaction":"销售满意率","service_satisfaction":"售后满意率"},"reasons":{"MILEAGE_NOT_DUE":"里程未到","NO_TIME":"没有时间","CAR_SOLD":"车辆已卖","MOVED_AWAY":"搬离本地","OTHER_DEALER":"去了其他4S店","INDEPENDENT_SHOP":"去了社会修理厂","PRICE":"价格原因","SERVICE_QUALITY":"服务质量","DISTANCE":"距离太远","INSURER_SENT_ELSEWHERE":"保险公司送修别处"},"kinds":{"POST_SALE":"交车回访","POST_SERVICE":"维修回访","LEAD_FIRST_CONTACT":"线索首次联系","WINBACK":"流失回访","FIRST_SERVICE_REMINDER":"首保提醒","MAINTENANCE_REMINDER":"保养提醒","INSURANCE_REMINDER":"续保提醒","BIRTHDAY":"生日关怀","INSPECTION_REMINDER":"年检提醒","CHURN_RISK":"流失预警回访"}}"#;

const WORKLIST: &str = r##"<header><strong>aftercare</strong>__NAV__<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><input type="checkbox" id="mine"> <span id="l-mine"></span></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main class="split"><div>
<h1 id="title"></h1><p id="summary" class="muted"></p><p id="error" class="error" role="alert"></p>
<table><thead><tr><th id="h-kind"></th><th id="h-customer"></th><th id="h-vehicle" class="wide"></th><th id="h-cause" class="wide"></th><th id="h-due"></th><th id="h-who" class="wide"></th><th></th></tr></thead>
<tbody id="tasks"></tbody></table></div>
<aside>
<section id="call" hidden><h2 id="call-title"></h2><p id="call-who" class="muted"></p>
<fieldset><legend id="l-satisfaction"></legend><div id="satisfaction" class="choices"></div></fieldset>
<fieldset><legend id="l-appointment"></legend><label><span id="l-day"></span> <input type="date" id="day"></label><div id="slots" class="choices"></div></fieldset>
<div class="stack"><label><span id="l-reason"></span> <select id="reason"></select></label>
<label><span id="l-note"></span> <input id="note" maxlength="500"></label>
<label><span id="l-complaint"></span> <input id="complaint" maxlength="2000"></label>
<p><button class="primary" id="record"></button> <button id="call-close"></button></p></div></section>
<p id="call-done" class="done" role="status"></p>
<section id="file" hidden><h2 id="file-title"></h2><p id="file-who"></p><table><tbody id="visits"></tbody></table></section>
<section id="month"><h2 id="month-title"></h2><table><thead><tr><th></th><th id="c-me" class="num"></th><th id="c-all" class="num"></th></tr></thead><tbody id="figures"></tbody></table></section>
</aside></main>
<script>
const T = __STRINGS__;
__COMMON__
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-mine","mine"],["h-kind","kind"],["h-customer","customer"],["h-vehicle","vehicle"],["h-cause","cause"],["h-due","due"],["h-who","who"],["signout","signout"],["lang","other"],["l-satisfaction","satisfaction"],["l-appointment","appointment"],["l-day","day"],["l-reason","reason"],["l-note","note"],["l-complaint","complaint"],["record","record"],["call-close","close"],["month-title","month"],["c-me","me"],["c-all","all"]]) text(id, T[key]);
const SATISFACTION = ["SATISFACTION_VERY_DISSATISFIED", "SATISFACTION_DISSATISFIED", "SATISFACTION_NEUTRAL", "SATISFACTION_SATISFIED", "SATISFACTION_VERY_SATISFIED"];
let current = null, chosen = { satisfaction: null, slot: null };
const dealerRef = () => ({ value: $("dealer").value });
const isoDay = (d) => d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
const dateOf = (value) => { const [year, month, day] = value.split("-").map(Number); return { year, month, day }; };
const ratio = (r) => { r = r || {}; const n = Number(r.numerator || 0), d = Number(r.denominator || 0); return n + "/" + d + (d ? " · " + Math.round(n / d * 1000) / 10 + "%" : ""); };
function kindName(kind) { const key = kind.replace("TASK_KIND_", ""); return T.kinds[key] || key.toLowerCase().replaceAll("_", " "); }
function mark() {
  for (const b of $("satisfaction").children) b.classList.toggle("chosen", b.dataset.value === chosen.satisfaction);
  for (const b of $("slots").children) b.classList.toggle("chosen", Number(b.dataset.slot) === chosen.slot);
}
SATISFACTION.forEach((value, i) => {
  const b = document.createElement("button"); b.type = "button"; b.textContent = T.sat[i]; b.dataset.value = value;
  b.onclick = () => { chosen.satisfaction = chosen.satisfaction === value ? null : value; mark(); };
  $("satisfaction").appendChild(b);
});
for (const [value, label] of [["", T.noReason], ...Object.entries(T.reasons)]) {
  const o = document.createElement("option"); o.value = value ? "CHURN_REASON_" + value : ""; o.textContent = label; $("reason").appendChild(o);
}
/// The day's slots from the callback service, each with its free bays.
async function loadSlots() {
  chosen.slot = null;
  const box = $("slots"); box.replaceChildren();
  if (!$("day").value) return;
  try {
    const answer = await ask("/api/appointments/slots", { dealer: dealerRef(), date: dateOf($("day").value) });
    for (const s of answer.slots || []) {
      const free = Number(s.bays || 0) - Number(s.taken || 0);
      const b = document.createElement("button"); b.type = "button"; b.dataset.slot = s.slot;
      b.textContent = T.slot.replace("{n}", s.slot) + " · " + (free > 0 ? T.free.replace("{n}", free).replace("{of}", s.bays) : T.full);
      b.disabled = free <= 0;
      b.onclick = () => { chosen.slot = chosen.slot === s.slot ? null : s.slot; mark(); };
      box.appendChild(b);
    }
    mark();
  } catch (e) { text("error", e.message); }
}
/// A reached call beside the list, for its outcome.
function openCall(task) {
  current = task; chosen = { satisfaction: null, slot: null };
  $("call").hidden = false; text("call-done", "");
  text("call-title", T.onCall + " · " + kindName(task.kind || ""));
  text("call-who", [task.customer_name, task.phone, task.model, task.vin].filter(Boolean).join(" · "));
  $("note").value = ""; $("complaint").value = ""; $("reason").value = "";
  // A churn reason is what a win-back or churn-risk call asks about.
  $("reason").parentElement.hidden = !["TASK_KIND_WINBACK", "TASK_KIND_CHURN_RISK"].includes(task.kind);
  $("day").min = isoDay(new Date());
  $("day").value = isoDay(new Date(Date.now() + 86400000));
  mark(); loadSlots();
}
$("day").onchange = loadSlots;
$("call-close").onclick = () => { $("call").hidden = true; current = null; };
$("record").onclick = async () => {
  if (!current) return;
  const body = { dealer: dealerRef(), task_id: current.task_id };
  if (chosen.satisfaction) body.satisfaction = chosen.satisfaction;
  if (chosen.slot) body.appointment = { date: dateOf($("day").value), slot: chosen.slot };
  if ($("reason").value) body.churn_reason = $("reason").value;
  if ($("note").value.trim()) body.note = $("note").value.trim();
  if ($("complaint").value.trim()) body.complaint = $("complaint").value.trim();
  text("error", "");
  try {
    const done = await ask("/api/tasks/outcome", body);
    $("call").hidden = true; current = null;
    text("call-done", body.appointment ? T.booked.replace("{n}", body.appointment.slot).replace("{day}", $("day").value) : T.recorded);
    loadMonth(done.position);
  } catch (e) { text("error", e.message); }
};
/// The month's measures: the signed-in person's and the dealer's.
async function loadMonth(position) {
  const now = new Date();
  const request = { dealer: dealerRef(), month: { year: now.getFullYear(), month: now.getMonth() + 1 } };
  if (position) request.consistency = { min_position: position };
  try {
    const m = await ask("/api/tasks/measures", request);
    const mine = ((m.people || []).find((p) => p.person === session.principal) || {}).figures || {};
    const all = m.dealer || {};
    const rows = $("figures"); rows.replaceChildren();
    for (const key of Object.keys(T.figures)) {
      const tr = rows.insertRow(); tr.dataset.key = key;
      tr.insertCell().textContent = T.figures[key];
      for (const value of [ratio(mine[key]), ratio(all[key])]) { const td = tr.insertCell(); td.className = "num"; td.textContent = value; }
    }
  } catch (e) { text("error", e.message); }
}
/// The customer's file and the vehicle's visits, beside the call.
async function showFile(dealer, task) {
  text("error", "");
  $("file").hidden = false;
  text("file-title", (task.customer_name || "") + " " + (task.model || "") + " " + (task.vin || ""));
  const rows = $("visits"); rows.replaceChildren(); text("file-who", "");
  try {
    if (task.customer_id) {
      const file = await ask("/api/customers/file", { dealer: { value: dealer }, customer_id: task.customer_id });
      text("file-who", [file.name, (file.phones || []).map((p) => p.number).join(", "), file.district].filter(Boolean).join(" · "));
    }
    if (task.vin) {
      const history = await ask("/api/vehicles/history", { dealer: { value: dealer }, vin: task.vin });
      for (const v of (history.visits || []).slice().reverse()) {
        const tr = rows.insertRow();
        for (const value of [v.closed_at ? new Date(v.closed_at).toLocaleDateString() : "", v.repair_order, (v.kind || "").replace("VISIT_KIND_", "").toLowerCase(), v.mileage_km ? v.mileage_km + " km" : "", v.service_advisor || ""]) tr.insertCell().textContent = value;
      }
      if (!(history.visits || []).length) { const td = rows.insertRow().insertCell(); td.textContent = T.noVisits; }
    }
  } catch (e) { text("error", e.message); }
}
/// The worklist, read once it has seen `position` (the page's own last write) when given.
async function load(position) {
  const dealer = $("dealer").value;
  const mine = $("mine").checked ? "&assignee=" + encodeURIComponent(session.principal) : "";
  const seen = position ? "&after=" + encodeURIComponent(position.value || "") : "";
  const answer = await fetch("/api/worklist?dealer=" + encodeURIComponent(dealer) + mine + seen);
  if (answer.status === 401) { location.href = "/login"; return; }
  const body = await answer.json();
  text("error", answer.ok ? "" : body.error);
  const rows = $("tasks");
  rows.replaceChildren();
  if (!answer.ok) return;
  const tasks = body.tasks || [];
  text("summary", (body.total || 0) + " " + T.total + ", " + (body.overdue || 0) + " " + T.overdue);
  if (tasks.length === 0) { const tr = rows.insertRow(); const td = tr.insertCell(); td.colSpan = 7; td.textContent = T.none; }
  const soon = Date.now() + 2 * 3600 * 1000;
  for (const task of tasks) {
    const tr = rows.insertRow();
    const due = task.due_at ? Date.parse(task.due_at) : NaN;
    if (task.overdue) tr.className = "overdue"; else if (due < soon) tr.className = "soon";
    tr.dataset.task = task.task_id;
    const cells = [kindName(task.kind || ""), (task.customer_name || "") + " " + (task.phone || ""), (task.model || "") + " " + (task.vin || ""), task.cause || "", (task.due_at_text || "") + (task.overdue ? " · " + T.overdue : ""), task.claimed_by || task.assignee || ""];
    cells.forEach((value, i) => { const td = tr.insertCell(); td.textContent = value; if (i === 2 || i === 3 || i === 5) td.className = "wide"; });
    tr.cells[1].style.cursor = "pointer"; tr.cells[1].title = T.showFile;
    tr.cells[1].onclick = () => showFile(dealer, task);
    const td = tr.insertCell();
    const act = (label, path, body, then) => {
      const button = document.createElement("button");
      button.className = "primary"; button.textContent = label;
      button.onclick = async () => {
        let position;
        try { position = (await ask(path, body)).position; if (then) then(); } catch (e) { text("error", e.message); }
        load(position); loadMonth(position);
      };
      td.appendChild(button); td.append(" ");
    };
    const ref = { dealer: { value: dealer }, task_id: task.task_id };
    if (!task.claimed_by) { act(T.claim, "/api/tasks/claim", ref); continue; }
    act(T.noAnswer, "/api/tasks/attempt", { ...ref, result: "ATTEMPT_RESULT_NO_ANSWER" });
    act(T.reached, "/api/tasks/attempt", { ...ref, result: "ATTEMPT_RESULT_REACHED" }, () => openCall(task));
  }
}
start(() => {
  $("dealer").onchange = () => { load(); loadMonth(); }; $("mine").onchange = () => load();
  load(); loadMonth();
});
</script>"##;

/// Links to the pages a person may use.
fn nav(english: bool, pages: &[&str]) -> String {
    let links: [(&str, &str, &str); 7] = [
        ("/worklist", "Worklist", "回访工作台"),
        ("/complaints", "Complaints", "投诉看板"),
        ("/churn", "Churn", "流失率"),
        ("/targets", "Targets", "目标达成"),
        ("/scorecards", "Scorecards", "考核奖惩"),
        ("/club", "Owner club", "车主俱乐部"),
        ("/operations", "Operations", "运维"),
    ];
    links
        .iter()
        .filter(|(href, _, _)| pages.contains(href))
        .map(|(href, en, zh)| format!("<a href=\"{href}\">{}</a>", if english { en } else { zh }))
        .collect()
}

/// The complaint board: a dealer's tickets, overdue first, then by grade and
/// deadline, with the next step of each a click away (a reason typed in the
/// row where one is needed); a form to file one; a ticket's timeline and the
/// dealer's early warnings beside the list.
pub fn complaints(english: bool, pages: &[&str]) -> String {
    let (title, strings, locale) = if english {
        ("Complaint board", COMPLAINTS_EN, "en")
    } else {
        ("投诉看板", COMPLAINTS_ZH, "zh-CN")
    };
    let body = COMPLAINTS
        .replace("__NAV__", &nav(english, pages))
        .replace("__STRINGS__", strings)
        .replace("__LOCALE__", locale)
        .replace("__COMMON__", COMMON);
    page(english, title, &body)
}

const COMPLAINTS_EN: &str = r#"{"title":"Complaint board","dealer":"Dealer","overdueOnly":"Only overdue","ticket":"Ticket","grade":"Grade","status":"Status","what":"Complaint","owner":"Handler / owner","deadline":"Resolve by","overdue":"overdue","ack":"Acknowledge","escalate":"Escalate","escalateWhy":"Why escalate?","resolve":"Resolve","resolution":"How was it resolved?","close":"Close","ok":"OK","cancel":"Cancel","none":"No complaints.","total":"tickets","signout":"Sign out","other":"中文","otherLang":"zh","new":"File a complaint","channel":"Channel","oemTicket":"OEM ticket number","gradeAuto":"By channel","customerId":"Customer id","vin":"VIN","description":"What the customer says","liability":"Product liability","file":"File","filed":"Filed as ticket {id}.","timeline":"Ticket timeline","pick":"Pick a ticket to see its timeline.","warnings":"Early warnings","noWarnings":"No early warnings.","channels":{"WALK_IN":"Walk-in","PHONE":"Phone","OEM_HOTLINE":"OEM hotline","CONSUMER_ASSOCIATION":"Consumer association","MEDIA":"Media","GROUP_HQ":"Group HQ"},"statuses":{"open":"open","in-progress":"in progress","resolved":"resolved","closed":"closed"},"kinds":{"filed":"filed","acknowledged":"acknowledged","assigned":"assigned","escalated":"escalated","resolved":"resolved","closed":"closed","reopened":"reopened"},"handlers":{"front-desk":"front desk","department-manager":"department manager","director":"director","general-manager":"general manager"}}"#;

const COMPLAINTS_ZH: &str = r#"{"title":"投诉看板","dealer":"经销商","overdueOnly":"只看逾期","ticket":"工单","grade":"等级","status":"状态","what":"投诉内容","owner":"处理人 / 负责人","deadline":"解决期限","overdue":"已逾期","ack":"受理","escalate":"升级","escalateWhy":"升级原因","resolve":"解决","resolution":"解决方案","close":"结案","ok":"确定","cancel":"取消","none":"暂无投诉。","total":"个工单","signout":"退出","other":"English","otherLang":"en","new":"登记投诉","channel":"来源","oemTicket":"厂家工单号","gradeAuto":"按来源","customerId":"客户编号","vin":"车架号","description":"客户反映的问题","liability":"产品责任","file":"登记","filed":"已登记，工单号 {id}。","timeline":"工单处理记录","pick":"点击投诉内容查看处理记录。","warnings":"预警","noWarnings":"暂无预警。","channels":{"WALK_IN":"到店","PHONE":"电话","OEM_HOTLINE":"厂家热线","CONSUMER_ASSOCIATION":"消费者协会","MEDIA":"媒体","GROUP_HQ":"集团总部"},"statuses":{"open":"待受理","in-progress":"处理中","resolved":"已解决","closed":"已结案"},"kinds":{"filed":"登记","acknowledged":"受理","assigned":"指派","escalated":"升级","resolved":"解决","closed":"结案","reopened":"重开"},"handlers":{"front-desk":"前台接待","department-manager":"部门经理","director":"总监","general-manager":"总经理"}}"#;

const COMPLAINTS: &str = r##"<header><strong>aftercare</strong>__NAV__<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><input type="checkbox" id="overdue"> <span id="l-overdue"></span></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main class="split"><div>
<h1 id="title"></h1><p id="summary" class="muted"></p><p id="error" class="error" role="alert"></p><p id="filed" class="done" role="status"></p>
<p><button class="primary" id="new"></button></p>
<form id="filing" class="panel stack" hidden>
<label><span id="l-channel"></span> <select id="channel"></select></label>
<label id="oem-row" hidden><span id="l-oem"></span> <input id="oem-ticket" maxlength="64"></label>
<label><span id="l-grade"></span> <select id="grade"></select></label>
<label><span id="l-customer"></span> <input id="customer" maxlength="64"></label>
<label><span id="l-vin"></span> <input id="vin" maxlength="17"></label>
<label><span id="l-description"></span><br><textarea id="description" rows="3" cols="50" maxlength="4000" required></textarea></label>
<label><input type="checkbox" id="liability"> <span id="l-liability"></span></label>
<p><button class="primary" id="file" type="submit"></button> <button type="button" id="file-cancel"></button></p></form>
<table><thead><tr><th id="h-ticket" class="wide"></th><th id="h-grade"></th><th id="h-status"></th><th id="h-what"></th><th id="h-owner" class="wide"></th><th id="h-deadline"></th><th></th></tr></thead>
<tbody id="tickets"></tbody></table></div>
<aside>
<section><h2 id="h-timeline"></h2><p id="timeline-of" class="muted"></p><table><tbody id="timeline"></tbody></table></section>
<section><h2 id="h-warnings"></h2><table><tbody id="warnings"></tbody></table></section>
</aside></main>
<script>
const T = __STRINGS__;
__COMMON__
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-overdue","overdueOnly"],["h-ticket","ticket"],["h-grade","grade"],["h-status","status"],["h-what","what"],["h-owner","owner"],["h-deadline","deadline"],["signout","signout"],["lang","other"],["new","new"],["l-channel","channel"],["l-oem","oemTicket"],["l-grade","grade"],["l-customer","customerId"],["l-vin","vin"],["l-description","description"],["l-liability","liability"],["file","file"],["file-cancel","cancel"],["h-timeline","timeline"],["timeline-of","pick"],["h-warnings","warnings"]]) text(id, T[key]);
const local = (t) => t ? new Date(t).toLocaleString("__LOCALE__", { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" }) : "";
const dealerRef = () => ({ value: $("dealer").value });
for (const [key, label] of Object.entries(T.channels)) { const o = document.createElement("option"); o.value = "CHANNEL_" + key; o.textContent = label; $("channel").appendChild(o); }
for (const g of [0, 1, 2, 3, 4, 5]) { const o = document.createElement("option"); o.value = g; o.textContent = g ? String(g) : T.gradeAuto; $("grade").appendChild(o); }
$("channel").onchange = () => { $("oem-row").hidden = $("channel").value !== "CHANNEL_OEM_HOTLINE"; };
/// One key per filing, kept until it is filed: a second click or a retry
/// after a lost answer finds the same ticket instead of a second one.
let filingKey = null;
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random().toString(16).slice(2));
$("new").onclick = () => { $("filing").hidden = false; filingKey = filingKey || newKey(); text("filed", ""); };
$("file-cancel").onclick = () => { $("filing").hidden = true; };
$("filing").onsubmit = async (e) => {
  e.preventDefault(); text("error", "");
  const body = { dealer: dealerRef(), channel: $("channel").value, grade: Number($("grade").value), customer_id: $("customer").value.trim(), vin: $("vin").value.trim(), description: $("description").value.trim(), product_liability: $("liability").checked, oem_ticket: $("channel").value === "CHANNEL_OEM_HOTLINE" ? $("oem-ticket").value.trim() : "", client_request_id: filingKey };
  try {
    const done = await ask("/api/complaints/file", body);
    filingKey = null; $("filing").reset(); $("filing").hidden = true;
    text("filed", T.filed.replace("{id}", done.ticket_id));
    await load(done.position);
    showTimeline(done.ticket_id, done.position);
  } catch (err) { text("error", err.message); }
};
/// A ticket's timeline, oldest first, in the dealer's time.
async function showTimeline(id, position) {
  const request = { dealer: dealerRef(), ticket_id: id };
  if (position) request.consistency = { min_position: position };
  try {
    const t = await ask("/api/complaints/ticket", request);
    text("timeline-of", t.ticket_id + " · " + (t.description || ""));
    const rows = $("timeline"); rows.replaceChildren();
    for (const entry of t.timeline || []) {
      const tr = rows.insertRow(); tr.dataset.kind = entry.kind || "";
      const td = tr.insertCell();
      const head = document.createElement("strong"); head.textContent = T.kinds[entry.kind] || entry.kind || "";
      const when = document.createElement("span"); when.className = "muted"; when.textContent = " " + local(entry.at) + " · " + (entry.by || "");
      const what = document.createElement("div"); what.textContent = [entry.detail, entry.note].filter(Boolean).join(" — ");
      td.append(head, when, what);
    }
  } catch (e) { text("error", e.message); }
}
async function loadWarnings() {
  const rows = $("warnings"); rows.replaceChildren();
  try {
    const list = (await ask("/api/complaints/warnings", { dealer: dealerRef() })).warnings || [];
    if (!list.length) { rows.insertRow().insertCell().textContent = T.noWarnings; return; }
    for (const w of list) { const tr = rows.insertRow(); for (const value of [local(w.raised_at), w.vin || "", w.detail || ""]) tr.insertCell().textContent = value; }
  } catch (e) { text("error", e.message); }
}
async function load(position) {
  const dealer = $("dealer").value;
  let query = "/api/complaints?dealer=" + encodeURIComponent(dealer) + ($("overdue").checked ? "&overdue=true" : "");
  if (position) query += "&after=" + encodeURIComponent(position.value || "");
  const answer = await fetch(query);
  if (answer.status === 401) { location.href = "/login"; return; }
  const body = await answer.json();
  if (!answer.ok) { text("error", body.error); return; }
  const rows = $("tickets");
  rows.replaceChildren();
  const tickets = (body.tickets || []).slice().sort((a, b) =>
    (b.overdue === true) - (a.overdue === true) || (b.grade || 0) - (a.grade || 0) || String(a.resolve_by || "").localeCompare(String(b.resolve_by || "")));
  text("summary", tickets.length + " " + T.total);
  if (tickets.length === 0) { const tr = rows.insertRow(); const td = tr.insertCell(); td.colSpan = 7; td.textContent = T.none; }
  for (const ticket of tickets) {
    const tr = rows.insertRow();
    if (ticket.overdue) tr.className = "overdue";
    tr.dataset.ticket = ticket.ticket_id;
    tr.dataset.status = ticket.status || "";
    const cells = [ticket.ticket_id, String(ticket.grade || ""), T.statuses[ticket.status] || ticket.status || "", ticket.description || "", [T.handlers[ticket.handler] || ticket.handler, ticket.owner].filter(Boolean).join(" / "), local(ticket.resolve_by) + (ticket.overdue ? " · " + T.overdue : "")];
    cells.forEach((value, i) => { const td = tr.insertCell(); td.textContent = value; if (i === 0 || i === 4) td.className = "wide"; });
    tr.cells[3].style.cursor = "pointer";
    tr.cells[3].onclick = () => showTimeline(ticket.ticket_id);
    const td = tr.insertCell();
    const ref = { dealer: dealerRef(), ticket_id: ticket.ticket_id };
    const send = async (path, more) => {
      text("error", "");
      try { const done = await ask(path, { ...ref, ...(more || {}) }); await load(done.position); showTimeline(ticket.ticket_id, done.position); }
      catch (e) { text("error", e.message); }
    };
    const act = (label, path) => {
      const button = document.createElement("button");
      button.className = "primary"; button.textContent = label;
      button.onclick = () => send(path);
      td.appendChild(button); td.append(" ");
    };
    /// An action that needs words: the row asks for them in place.
    const actWith = (label, path, field, question) => {
      const button = document.createElement("button");
      button.className = "primary"; button.textContent = label;
      button.onclick = () => {
        const form = document.createElement("form"); form.className = "stack";
        const input = document.createElement("input"); input.placeholder = question; input.required = true; input.maxLength = 2000; input.setAttribute("aria-label", question);
        const ok = document.createElement("button"); ok.className = "primary"; ok.textContent = T.ok;
        const cancel = document.createElement("button"); cancel.type = "button"; cancel.textContent = T.cancel; cancel.onclick = () => load();
        form.append(input, ok, cancel);
        form.onsubmit = (e) => { e.preventDefault(); send(path, { [field]: input.value.trim() }); };
        td.replaceChildren(form); input.focus();
      };
      td.appendChild(button); td.append(" ");
    };
    if (ticket.status === "open") act(T.ack, "/api/complaints/acknowledge");
    if (ticket.status === "open" || ticket.status === "in-progress") {
      actWith(T.escalate, "/api/complaints/escalate", "reason", T.escalateWhy);
      actWith(T.resolve, "/api/complaints/resolve", "resolution", T.resolution);
    }
    if (ticket.status === "resolved") act(T.close, "/api/complaints/close");
  }
}
start(() => {
  $("dealer").onchange = () => { load(); loadWarnings(); }; $("overdue").onchange = () => load();
  load(); loadWarnings();
});
</script>"##;

/// The churn dashboard: the monthly rate over a year as a line, a month's
/// rate by model, region, vehicle age or advisor group as bars, and the
/// seed-style table by model, any month as of, rule A or B.
pub fn churn(english: bool, pages: &[&str]) -> String {
    let strings = if english {
        r#"{"title":"Churn","dealer":"Dealer","month":"Month","rule":"Rule","by":"By","byModel":"Model","byRegion":"Region","byAge":"Vehicle age","byGroup":"Advisor group","trend":"Monthly churn rate","bars":"Churn rate by","table":"Churn table by model","value":"Model","base":"Vehicles","active":"Active","wavering":"Wavering","churned":"Churned","drifting":"Drifting","fully":"Fully churned","past":"At or past the threshold","rate":"Rate","total":"Total","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"流失率","dealer":"经销商","month":"月份","rule":"口径","by":"维度","byModel":"车型","byRegion":"区域","byAge":"车龄","byGroup":"服务顾问组","trend":"月度流失率","bars":"流失率：按","table":"流失统计表（按车型）","value":"车型","base":"保有车辆","active":"活跃","wavering":"摇摆","churned":"流失","drifting":"深度流失","fully":"彻底流失","past":"流失合计","rate":"流失率","total":"合计","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Churn" } else { "流失率" };
    let nav = nav(english, pages);
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><span id="l-month"></span> <input type="month" id="month"></label>
<label><span id="l-rule"></span> <select id="rule"><option value="CHURN_RULE_A">A</option><option value="CHURN_RULE_B">B</option></select></label>
<label><span id="l-by"></span> <select id="by"></select></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="error" class="error" role="alert"></p>
<h2 id="h-trend"></h2><div id="trend" style="height:280px"></div>
<h2 id="h-bars"></h2><div id="bars" style="height:280px"></div>
<h2 id="h-table"></h2>
<table><thead><tr><th id="c-value"></th><th id="c-base"></th><th id="c-active" class="wide"></th><th id="c-wavering" class="wide"></th><th id="c-churned" class="wide"></th><th id="c-drifting" class="wide"></th><th id="c-fully" class="wide"></th><th id="c-past"></th><th id="c-rate"></th></tr></thead><tbody id="table"></tbody></table>
</main>
<script src="/assets/echarts.min.js"></script>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-month","month"],["l-rule","rule"],["l-by","by"],["h-trend","trend"],["h-table","table"],["c-value","value"],["c-base","base"],["c-active","active"],["c-wavering","wavering"],["c-churned","churned"],["c-drifting","drifting"],["c-fully","fully"],["c-past","past"],["c-rate","rate"],["signout","signout"],["lang","other"]]) text(id, T[key]);
for (const [value, key] of [["BREAKDOWN_MODEL","byModel"],["BREAKDOWN_REGION","byRegion"],["BREAKDOWN_AGE","byAge"],["BREAKDOWN_ADVISOR_GROUP","byGroup"]]) {{ const o = document.createElement("option"); o.value = value; o.textContent = T[key]; $("by").appendChild(o); }}
const trend = chart($("trend")), bars = chart($("bars"));
window.addEventListener("resize", () => {{ trend.resize(); bars.resize(); }});
const percent = (rate) => Math.round((rate || 0) * 10000) / 100;
function monthsEndingAt(year, month, n) {{
  const out = [];
  for (let i = n - 1; i >= 0; i--) {{ const d = new Date(Date.UTC(year, month - 1 - i, 1)); out.push({{ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 }}); }}
  return out;
}}
async function load() {{
  text("error", "");
  const [year, month] = $("month").value.split("-").map(Number);
  const dealers = [{{ value: $("dealer").value }}];
  const rule = $("rule").value, breakdown = $("by").value;
  text("h-bars", T.bars + " " + $("by").selectedOptions[0].textContent);
  try {{
    const months = monthsEndingAt(year, month, 12);
    const reports = await Promise.all(months.map((m) => ask("/api/reports/churn", {{ dealers, month: m, rule }})));
    trend.setOption({{ tooltip: {{ trigger: "axis", valueFormatter: (v) => v + "%" }}, xAxis: {{ type: "category", data: months.map((m) => m.year + "-" + String(m.month).padStart(2, "0")) }}, yAxis: {{ type: "value", axisLabel: {{ formatter: "{{value}}%" }} }}, series: [{{ type: "line", name: T.rate, data: reports.map((r) => percent(r.total && r.total.rate)) }}] }}, true);
    const split = await ask("/api/reports/churn", {{ dealers, month: {{ year, month }}, rule, breakdown }});
    const lines = split.lines || [];
    bars.setOption({{ tooltip: {{ trigger: "axis", valueFormatter: (v) => v + "%" }}, xAxis: {{ type: "category", data: lines.map((l) => l.value || "—") }}, yAxis: {{ type: "value", axisLabel: {{ formatter: "{{value}}%" }} }}, series: [{{ type: "bar", name: T.rate, data: lines.map((l) => percent(l.rate)) }}] }}, true);
    const table = await ask("/api/reports/churn-table", {{ dealers, month: {{ year, month }}, breakdown: "BREAKDOWN_MODEL" }});
    const rows = $("table"); rows.replaceChildren();
    const segment = (line, name) => {{ const s = (line.segments || []).find((x) => x.segment === name); return s ? String(s.vehicles) : "0"; }};
    for (const line of [...(table.lines || []), {{ ...(table.total || {{}}), value: T.total }}]) {{
      const tr = rows.insertRow(); tr.dataset.value = line.value || "";
      const cells = [line.value || "—", String(line.base || 0), segment(line, "SEGMENT_ACTIVE"), segment(line, "SEGMENT_WAVERING"), segment(line, "SEGMENT_CHURNED"), segment(line, "SEGMENT_DRIFTING"), segment(line, "SEGMENT_FULLY_CHURNED"), String(line.churned || 0), percent(line.rate) + "%"];
      cells.forEach((value, i) => {{ const td = tr.insertCell(); td.textContent = value; if (i >= 2 && i <= 6) td.className = "wide"; }});
    }}
  }} catch (e) {{ text("error", e.message); }}
}}
start(() => {{
  const last = new Date(); last.setUTCDate(1); last.setUTCMonth(last.getUTCMonth() - 1);
  $("month").value = new URLSearchParams(location.search).get("month") || (last.getUTCFullYear() + "-" + String(last.getUTCMonth() + 1).padStart(2, "0"));
  for (const id of ["dealer", "month", "rule", "by"]) $(id).onchange = load;
  load();
}});
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// Operations (administrators): each projection's position, lag and dead
/// letters, the open letters with their reasons, a retry button for each.
pub fn operations(english: bool, pages: &[&str]) -> String {
    let strings = if english {
        r#"{"title":"Operations","head":"Event log head","projection":"Projection","checkpoint":"Checkpoint","lag":"Lag","dead":"Dead letters","open":"Open","letters":"Open dead letters","id":"Letter","dealer":"Dealer","state":"State","reason":"Reason","retry":"Retry","none":"No open dead letters.","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"运维","head":"事件日志头","projection":"投影","checkpoint":"检查点","lag":"滞后","dead":"死信","open":"未处理","letters":"未处理的死信","id":"死信","dealer":"经销商","state":"状态","reason":"原因","retry":"重试","none":"没有未处理的死信。","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Operations" } else { "运维" };
    let nav = nav(english, pages);
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="head" class="muted"></p><p id="error" class="error" role="alert"></p>
<table><thead><tr><th id="c-projection"></th><th id="c-checkpoint"></th><th id="c-lag"></th><th id="c-dead"></th><th id="c-open"></th></tr></thead><tbody id="projections"></tbody></table>
<h2 id="h-letters"></h2>
<table><thead><tr><th id="c-id"></th><th id="c-dealer" class="wide"></th><th id="c-state"></th><th id="c-reason"></th><th></th></tr></thead><tbody id="letters"></tbody></table>
</main>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["c-projection","projection"],["c-checkpoint","checkpoint"],["c-lag","lag"],["c-dead","dead"],["c-open","open"],["h-letters","letters"],["c-id","id"],["c-dealer","dealer"],["c-state","state"],["c-reason","reason"],["signout","signout"],["lang","other"]]) text(id, T[key]);
async function load() {{
  text("error", "");
  try {{
    const status = await ask("/api/operations/status");
    text("head", T.head + ": " + ((status.head && status.head.value) || 0));
    const rows = $("projections"); rows.replaceChildren();
    for (const p of status.projections || []) {{
      const tr = rows.insertRow(); tr.dataset.projection = p.name;
      for (const value of [p.name, (p.checkpoint && p.checkpoint.value) || "0", p.lag || "0", p.dead_lettered || "0", p.open_dead_letters || "0"]) tr.insertCell().textContent = String(value);
    }}
    const letters = (await ask("/api/operations/dead-letters")).letters || [];
    const list = $("letters"); list.replaceChildren();
    if (letters.length === 0) {{ const td = list.insertRow().insertCell(); td.colSpan = 5; td.textContent = T.none; }}
    for (const l of letters) {{
      const tr = list.insertRow(); tr.dataset.letter = l.id;
      [l.id, (l.dealer && l.dealer.value) || "", l.state, l.reason].forEach((value, i) => {{ const td = tr.insertCell(); td.textContent = value || ""; if (i === 1) td.className = "wide"; }});
      const td = tr.insertCell();
      if (l.retryable) {{
        const button = document.createElement("button"); button.className = "primary"; button.textContent = T.retry;
        button.onclick = async () => {{ try {{ await ask("/api/operations/retry", {{ id: l.id }}); }} catch (e) {{ text("error", e.message); }} load(); }};
        td.appendChild(button);
      }}
    }}
  }} catch (e) {{ text("error", e.message); }}
}}
start(load);
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// The month's churn scorecard: the dealer's rate and each advisor group's
/// against it as bars (the line the groups were judged against drawn across),
/// and who earned or lost what under the incentive scheme — groups, callback
/// agents, the service manager and the workshop supervisor — with the
/// advisors' own rates shown beside.
pub fn scorecards(english: bool, pages: &[&str]) -> String {
    let (title, strings) = if english {
        ("Scorecards", SCORECARDS_EN)
    } else {
        ("考核奖惩", SCORECARDS_ZH)
    };
    let body = SCORECARDS
        .replace("__NAV__", &nav(english, pages))
        .replace("__STRINGS__", strings)
        .replace("__COMMON__", COMMON);
    page(english, title, &body)
}

const SCORECARDS_EN: &str = r#"{"title":"Scorecards","dealer":"Dealer","month":"Month","rule":"Rule","signout":"Sign out","other":"中文","otherLang":"zh","dealerRate":"Dealer churn rate","groupsRate":"The groups' rate (what groups are judged against)","previous":"The three months before","groups":"Advisor groups","agents":"Callback agents","leaders":"Service manager and workshop supervisor","advisors":"Service advisors (shown; the scheme pays the group)","who":"Who","churned":"Churned / base","rate":"Rate","calls":"Calls","verdict":"Verdict","amount":"Incentive","total":"Incentives this month","verdicts":{"BETTER":"better","EQUAL":"equal","WORSE":"worse","UNSPECIFIED":"not judged"},"manager":"Service manager","supervisor":"Workshop supervisor","none":"No scores for this month."}"#;

const SCORECARDS_ZH: &str = r#"{"title":"考核奖惩","dealer":"经销商","month":"月份","rule":"口径","signout":"退出","other":"English","otherLang":"en","dealerRate":"全店流失率","groupsRate":"各组合计流失率（考核基准）","previous":"前三个月","groups":"服务顾问组","agents":"回访专员","leaders":"服务经理与车间主管","advisors":"服务顾问（仅展示，奖惩按组）","who":"对象","churned":"流失 / 基数","rate":"流失率","calls":"回访数","verdict":"结果","amount":"奖惩金额","total":"本月奖惩合计","verdicts":{"BETTER":"优于基准","EQUAL":"持平","WORSE":"差于基准","UNSPECIFIED":"不考核"},"manager":"服务经理","supervisor":"车间主管","none":"本月暂无考核数据。"}"#;

const SCORECARDS: &str = r##"<header><strong>aftercare</strong>__NAV__<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><span id="l-month"></span> <input type="month" id="month"></label>
<label><span id="l-rule"></span> <select id="rule"><option value="CHURN_RULE_A">A</option><option value="CHURN_RULE_B">B</option></select></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="error" class="error" role="alert"></p>
<table><tbody id="summary"></tbody></table>
<h2 id="h-groups"></h2><div id="chart" style="height:280px"></div>
<table><thead><tr><th id="g-who"></th><th id="g-churned" class="num"></th><th id="g-rate" class="num"></th><th id="g-verdict"></th><th id="g-amount" class="num"></th></tr></thead><tbody id="groups"></tbody></table>
<h2 id="h-agents"></h2>
<table><thead><tr><th id="a-who"></th><th id="a-calls" class="num"></th><th id="a-rate" class="num"></th><th id="a-verdict"></th><th id="a-amount" class="num"></th></tr></thead><tbody id="agents"></tbody></table>
<h2 id="h-leaders"></h2>
<table><thead><tr><th id="l-who"></th><th id="l-churned" class="num"></th><th id="l-rate" class="num"></th><th id="l-verdict"></th><th id="l-amount" class="num"></th></tr></thead><tbody id="leaders"></tbody></table>
<h2 id="h-advisors"></h2>
<table><thead><tr><th id="v-who"></th><th id="v-churned" class="num"></th><th id="v-rate" class="num"></th><th id="v-verdict"></th></tr></thead><tbody id="advisors"></tbody></table>
</main>
<script src="/assets/echarts.min.js"></script>
<script>
const T = __STRINGS__;
__COMMON__
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-month","month"],["l-rule","rule"],["signout","signout"],["lang","other"],["h-groups","groups"],["h-agents","agents"],["h-leaders","leaders"],["h-advisors","advisors"]]) text(id, T[key]);
for (const p of ["g", "a", "l", "v"]) for (const k of ["who", "churned", "rate", "calls", "verdict", "amount"]) if ($(p + "-" + k)) text(p + "-" + k, T[k]);
const bars = chart($("chart"));
window.addEventListener("resize", () => bars.resize());
const percent = (rate) => Math.round((rate || 0) * 10000) / 100;
const yuan = new Intl.NumberFormat(document.documentElement.lang, { style: "currency", currency: "CNY", signDisplay: "exceptZero", maximumFractionDigits: 0 });
const money = (m) => yuan.format(Number((m && m.fen) || 0) / 100);
const verdict = (v) => T.verdicts[(v || "VERDICT_UNSPECIFIED").replace("VERDICT_", "")] || v;
const churned = (line) => line ? (line.churned || 0) + " / " + (line.base || 0) : "";
function fill(id, rows) {
  const body = $(id); body.replaceChildren();
  if (!rows.length) { const td = body.insertRow().insertCell(); td.colSpan = 5; td.textContent = T.none; return; }
  for (const cells of rows) {
    const tr = body.insertRow(); tr.dataset.who = cells[0];
    cells.forEach((value, i) => {
      const td = tr.insertCell(); td.textContent = value;
      if (i > 0 && typeof value === "string" && (value.endsWith("%") || /[0-9]/.test(value[value.length - 1] || ""))) td.className = "num";
      if (value === T.verdicts.BETTER) td.className = "better"; if (value === T.verdicts.WORSE) td.className = "worse";
    });
  }
}
async function load() {
  text("error", "");
  const [year, month] = $("month").value.split("-").map(Number);
  try {
    const s = await ask("/api/reports/scorecard", { dealer: { value: $("dealer").value }, month: { year, month }, rule: $("rule").value });
    const groups = s.advisor_groups || [], agents = s.callback_agents || [];
    const leaders = [[T.manager, s.service_manager], [T.supervisor, s.workshop_supervisor]].filter(([, x]) => x);
    const summary = $("summary"); summary.replaceChildren();
    for (const [key, value] of [["dealerRate", percent(s.dealer && s.dealer.rate) + "% (" + churned(s.dealer) + ")"], ["groupsRate", percent(s.groups_rate && s.groups_rate.rate) + "%"], ["previous", (s.previous_months || []).map((l) => percent(l.rate) + "%").join(" · ")], ["total", money(s.payout)]]) {
      const tr = summary.insertRow(); tr.dataset.key = key; tr.insertCell().textContent = T[key]; tr.insertCell().textContent = value;
    }
    fill("groups", groups.map((g) => [g.who, churned(g.line), percent(g.line && g.line.rate) + "%", verdict(g.verdict), money(g.amount)]));
    fill("agents", agents.map((a) => [a.agent, String(a.calls || 0), percent(a.rate) + "%", verdict(a.verdict), money(a.amount)]));
    fill("leaders", leaders.map(([name, x]) => [name, churned(x.line), percent(x.line && x.line.rate) + "%", verdict(x.verdict), money(x.amount)]));
    fill("advisors", (s.advisors || []).map((a) => [a.who, churned(a.line), percent(a.line && a.line.rate) + "%", verdict(a.verdict)]));
    const against = percent(s.groups_rate && s.groups_rate.rate);
    bars.setOption({ tooltip: { trigger: "axis", valueFormatter: (v) => v + "%" }, xAxis: { type: "category", data: groups.map((g) => g.who) }, yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: [{ type: "bar", name: T.rate, data: groups.map((g) => ({ value: percent(g.line && g.line.rate), itemStyle: { color: g.verdict === "VERDICT_WORSE" ? "#d64545" : g.verdict === "VERDICT_BETTER" ? "#2f8f5b" : "#5470c6" } })),
        markLine: { symbol: "none", data: [{ yAxis: against, name: T.groupsRate }], label: { formatter: against + "%" } } }] }, true);
  } catch (e) { text("error", e.message); }
}
start(() => {
  const last = new Date(); last.setDate(1); last.setMonth(last.getMonth() - 1);
  $("month").value = new URLSearchParams(location.search).get("month") || (last.getFullYear() + "-" + String(last.getMonth() + 1).padStart(2, "0"));
  for (const id of ["dealer", "month", "rule"]) $(id).onchange = load;
  load();
});
</script>"##;

/// Targets against actuals: per metric, each month's target as a line and
/// actual as bars, and the quarters, year to date and year with whether each
/// was met.
pub fn targets(english: bool, pages: &[&str]) -> String {
    let strings = if english {
        r#"{"title":"Targets","dealer":"Dealer","year":"Year","target":"Target","actual":"Actual","period":"Period","met":"Met","yes":"yes","no":"no","none":"No targets set for this year.","lower":"lower is better","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"目标达成","dealer":"经销商","year":"年份","target":"目标","actual":"实际","period":"期间","met":"达成","yes":"是","no":"否","none":"本年度尚未设定目标。","lower":"越低越好","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Targets" } else { "目标达成" };
    let nav = nav(english, pages);
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><span id="l-year"></span> <input type="number" id="year" min="2000" max="2100" style="width:6rem"></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="error" class="error" role="alert"></p><div id="metrics"></div></main>
<script src="/assets/echarts.min.js"></script>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-year","year"],["signout","signout"],["lang","other"]]) text(id, T[key]);
const charts = [];
window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
const shown = (v) => v === undefined || v === null ? "" : String(Math.round(v * 10000) / 10000);
async function load() {{
  text("error", "");
  const box = $("metrics"); box.replaceChildren(); charts.splice(0).forEach((c) => c.dispose());
  try {{
    const report = await ask("/api/reports/targets", {{ dealer: {{ value: $("dealer").value }}, year: Number($("year").value) }});
    const metrics = report.metrics || [];
    if (metrics.length === 0) {{ const p = document.createElement("p"); p.textContent = T.none; box.appendChild(p); return; }}
    for (const m of metrics) {{
      const section = document.createElement("section"); section.dataset.metric = m.metric;
      const h = document.createElement("h2"); h.textContent = m.metric + (m.lower_is_better ? " (" + T.lower + ")" : ""); section.appendChild(h);
      const area = document.createElement("div"); area.className = "chart"; area.style.height = "240px"; section.appendChild(area);
      const table = document.createElement("table"); const head = table.createTHead().insertRow();
      for (const k of ["period", "target", "actual", "met"]) head.insertCell().textContent = T[k];
      const body = table.createTBody();
      for (const p of m.periods || []) {{
        const tr = body.insertRow();
        for (const v of [p.period, shown(p.target), shown(p.actual), p.met === undefined ? "" : (p.met ? T.yes : T.no)]) tr.insertCell().textContent = v;
      }}
      section.appendChild(table); box.appendChild(section);
      const months = m.months || [];
      const c = chart(area); charts.push(c);
      c.setOption({{ tooltip: {{ trigger: "axis" }}, legend: {{ data: [T.target, T.actual] }}, xAxis: {{ type: "category", data: months.map((x) => x.month.year + "-" + String(x.month.month).padStart(2, "0")) }}, yAxis: {{ type: "value" }}, series: [{{ name: T.target, type: "line", data: months.map((x) => x.target ?? null) }}, {{ name: T.actual, type: "bar", data: months.map((x) => x.actual ?? null) }}] }});
    }}
  }} catch (e) {{ text("error", e.message); }}
}}
start(() => {{
  $("year").value = new URLSearchParams(location.search).get("year") || new Date().getFullYear();
  $("dealer").onchange = load; $("year").onchange = load;
  load();
}});
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// The owner club: the month's figures and members per card, and a member's
/// card, tier progress and ledger looked up by customer.
pub fn club(english: bool, pages: &[&str]) -> String {
    let strings = if english {
        r#"{"title":"Owner club","dealer":"Dealer","month":"Month","members":"Members","joined":"Joined this month","active":"Active this month","issued":"Points issued","redeemed":"Points redeemed","outstanding":"Points outstanding","owners":"Owners who are members","cards":"Members per card","lookup":"Member","customer":"Customer id","find":"Show","card":"Card","balance":"Balance","window":"Points in 24 months","next":"Next card","at":"When","kind":"Entry","points":"Points","detail":"Detail","signout":"Sign out","other":"中文","otherLang":"zh","cardNames":{"PROSPECT":"Prospect","GREEN":"Green","GREEN_ONE_STAR":"Green ★","GREEN_TWO_STAR":"Green ★★","GOLD":"Gold"}}"#
    } else {
        r#"{"title":"车主俱乐部","dealer":"经销商","month":"月份","members":"会员","joined":"本月入会","active":"本月活跃","issued":"发放积分","redeemed":"兑换积分","outstanding":"未兑换积分","owners":"车主入会","cards":"各等级会员","lookup":"会员","customer":"客户编号","find":"查询","card":"会员卡","balance":"积分余额","window":"24个月积分","next":"下一级","at":"时间","kind":"类型","points":"积分","detail":"明细","signout":"退出","other":"English","otherLang":"en","cardNames":{"PROSPECT":"普卡","GREEN":"绿卡","GREEN_ONE_STAR":"绿卡一星","GREEN_TWO_STAR":"绿卡二星","GOLD":"金卡"}}"#
    };
    let title = if english {
        "Owner club"
    } else {
        "车主俱乐部"
    };
    let nav = nav(english, pages);
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><span id="l-month"></span> <input type="month" id="month"></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="error" class="error" role="alert"></p>
<table><tbody id="figures"></tbody></table>
<h2 id="h-cards"></h2><div id="cards" style="height:260px"></div>
<h2 id="h-lookup"></h2>
<form id="lookup"><label><span id="l-customer"></span> <input id="customer" required></label> <button class="primary" id="find"></button></form>
<table><tbody id="member"></tbody></table>
<table><thead><tr><th id="c-at"></th><th id="c-kind"></th><th id="c-points"></th><th id="c-detail"></th></tr></thead><tbody id="ledger"></tbody></table>
</main>
<script src="/assets/echarts.min.js"></script>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-month","month"],["h-cards","cards"],["h-lookup","lookup"],["l-customer","customer"],["find","find"],["c-at","at"],["c-kind","kind"],["c-points","points"],["c-detail","detail"],["signout","signout"],["lang","other"]]) text(id, T[key]);
const cards = chart($("cards"));
window.addEventListener("resize", () => cards.resize());
const cardName = (c) => {{ const key = (c || "").replace("CARD_", ""); return T.cardNames[key] || key.toLowerCase(); }};
function rows(id, pairs) {{
  const body = $(id); body.replaceChildren();
  for (const [key, value] of pairs) {{ const tr = body.insertRow(); tr.dataset.key = key; tr.insertCell().textContent = T[key]; tr.insertCell().textContent = String(value ?? ""); }}
}}
async function load() {{
  text("error", "");
  const [year, month] = $("month").value.split("-").map(Number);
  try {{
    const s = await ask("/api/club/stats", {{ dealer: {{ value: $("dealer").value }}, month: {{ year, month }} }});
    rows("figures", [["members", s.members || 0], ["joined", s.joined || 0], ["active", s.active || 0], ["issued", s.points_issued || 0], ["redeemed", s.points_redeemed || 0], ["outstanding", s.points_outstanding || 0], ["owners", (s.owners_joined || 0) + " / " + (s.owners || 0)]]);
    cards.setOption({{ tooltip: {{ trigger: "item" }}, series: [{{ type: "pie", radius: ["40%", "70%"], data: (s.cards || []).map((c) => ({{ name: cardName(c.card), value: Number(c.members || 0) }})) }}] }}, true);
  }} catch (e) {{ text("error", e.message); }}
}}
$("lookup").onsubmit = async (e) => {{
  e.preventDefault(); text("error", "");
  const ref = {{ dealer: {{ value: $("dealer").value }}, customer_id: $("customer").value.trim() }};
  try {{
    const m = await ask("/api/club/member", ref);
    rows("member", [["card", cardName(m.card) + (m.vip ? " · VIP" : "")], ["balance", m.balance || 0], ["window", m.window_points || 0], ["next", m.next_card || ""]]);
    const ledger = (await ask("/api/club/ledger", ref)).entries || [];
    const body = $("ledger"); body.replaceChildren();
    for (const entry of ledger) {{ const tr = body.insertRow(); for (const v of [entry.at ? new Date(entry.at).toLocaleString() : "", entry.kind, entry.points || 0, entry.detail || ""]) tr.insertCell().textContent = String(v); }}
  }} catch (err) {{ text("error", err.message); }}
}};
start(() => {{
  const now = new Date();
  $("month").value = new URLSearchParams(location.search).get("month") || (now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0"));
  $("dealer").onchange = load; $("month").onchange = load;
  load();
}});
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// Text for HTML, every markup character escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_is_text_not_markup() {
        let page = super::login(true, Some("<script>alert(1)</script>"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn the_pages_speak_the_readers_language() {
        assert!(super::login(false, None).contains("访问令牌"));
        assert!(super::login(true, None).contains("API token"));
        assert!(super::worklist(false, &["/worklist"]).contains("回访工作台"));
        assert!(super::worklist(true, &["/worklist"]).contains("\"claim\":\"Claim\""));
    }

    #[test]
    fn the_navigation_offers_only_the_pages_given() {
        let page = super::worklist(true, &["/worklist", "/club"]);
        assert!(page.contains("href=\"/club\""));
        assert!(!page.contains("href=\"/operations\""));
        assert!(!page.contains("href=\"/churn\""));
        // No placeholder is left unfilled on any page.
        for page in [
            super::worklist(false, &[]),
            super::complaints(false, &[]),
            super::scorecards(false, &[]),
        ] {
            assert!(!page.contains("__"), "a placeholder left in a page");
        }
    }
}
