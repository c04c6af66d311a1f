//! The console's pages: HTML and a little script that asks the console's JSON
//! and writes what it gets as text (never as markup), in Chinese or English.

const STYLE: &str = r#"
body { font-family: "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; margin: 0; color: #1f2933; }
header { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; padding: .6rem 1rem; background: #0b3c5d; color: #fff; }
header a, header button { color: #fff; background: none; border: 1px solid #fff6; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; text-decoration: none; font: inherit; }
main { padding: 1rem; max-width: 1280px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid #d9e2ec; vertical-align: top; }
tr.overdue td { background: #fde8e8; }
tr.soon td { background: #fff4d6; }
.muted { color: #627d98; font-size: .9em; }
form.login { max-width: 26rem; margin: 4rem auto; display: grid; gap: .8rem; }
input, select { font: inherit; padding: .4rem; }
button.primary { background: #0b6bcb; color: #fff; border: 0; border-radius: 4px; padding: .45rem .9rem; cursor: pointer; font: inherit; }
.error { color: #b91c1c; }
@media (max-width: 800px) { .wide { display: none; } }
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

/// The sign-in form, with the reason the last attempt failed.
pub fn login(english: bool, error: Option<&str>) -> String {
    let (title, label, button, hint, other, other_lang) = if english {
        (
            "aftercare — sign in",
            "API token",
            "Sign in",
            "The token your administrator gave you (the embedded default writes one to data/admin.token).",
            "中文",
            "zh",
        )
    } else {
        (
            "aftercare 售后关怀 — 登录",
            "访问令牌",
            "登录",
            "管理员发给您的令牌（内置默认配置写在 data/admin.token）。",
            "English",
            "en",
        )
    };
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<form class=\"login\" method=\"post\" action=\"/login\">\
         <h1>{title}</h1>{error}\
         <label>{label}<br><input name=\"token\" type=\"password\" autocomplete=\"off\" required size=\"40\"></label>\
         <p class=\"muted\">{hint}</p>\
         <button class=\"primary\" type=\"submit\">{button}</button>\
         <p><a href=\"#\" onclick=\"document.cookie='lang={other_lang}; path=/; SameSite=Strict'; location.reload(); return false;\">{other}</a></p>\
         </form>"
    );
    page(english, title, &body)
}

/// The callback agent's worklist: due and overdue calls, deadline colours, a
/// claim button.
pub fn worklist(english: bool) -> String {
    let strings = if english {
        r#"{"title":"Worklist","dealer":"Dealer","mine":"Only mine","kind":"Call","customer":"Customer","vehicle":"Vehicle","cause":"Why","due":"Due","who":"Assigned / claimed","claim":"Claim","claimed":"Claimed","overdue":"overdue","total":"tasks","none":"No calls due.","signout":"Sign out","other":"中文","otherLang":"zh","noAnswer":"No answer","reached":"Reached","satisfied":"Very satisfied","showFile":"The customer's file and the vehicle's visits","noVisits":"No visits on file.","kinds":{"POST_SALE":"Post-sale call","POST_SERVICE":"Post-service call","LEAD_FIRST_CONTACT":"Lead first contact","WINBACK":"Win-back","FIRST_SERVICE_REMINDER":"First service reminder","MAINTENANCE_REMINDER":"Maintenance reminder","INSURANCE_REMINDER":"Insurance reminder","BIRTHDAY":"Birthday greeting","INSPECTION_REMINDER":"Inspection reminder","CHURN_RISK":"Churn-risk call"}}"#
    } else {
        r#"{"title":"回访工作台","dealer":"经销商","mine":"只看我的","kind":"回访类型","customer":"客户","vehicle":"车辆","cause":"原因","due":"截止","who":"负责人 / 认领人","claim":"认领","claimed":"已认领","overdue":"已逾期","total":"个任务","none":"暂无到期回访。","signout":"退出","other":"English","otherLang":"en","noAnswer":"未接通","reached":"已接通","satisfied":"非常满意","showFile":"客户档案与车辆维修记录","noVisits":"暂无维修记录。","kinds":{"POST_SALE":"交车回访","POST_SERVICE":"维修回访","LEAD_FIRST_CONTACT":"线索首次联系","WINBACK":"流失回访","FIRST_SERVICE_REMINDER":"首保提醒","MAINTENANCE_REMINDER":"保养提醒","INSURANCE_REMINDER":"续保提醒","BIRTHDAY":"生日关怀","INSPECTION_REMINDER":"年检提醒","CHURN_RISK":"流失预警回访"}}"#
    };
    let title = if english {
        "Worklist"
    } else {
        "回访工作台"
    };
    let nav = nav(english);
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><input type="checkbox" id="mine"> <span id="l-mine"></span></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="summary" class="muted"></p><p id="error" class="error" role="alert"></p>
<table><thead><tr><th id="h-kind"></th><th id="h-customer"></th><th id="h-vehicle" class="wide"></th><th id="h-cause" class="wide"></th><th id="h-due"></th><th id="h-who" class="wide"></th><th></th></tr></thead>
<tbody id="tasks"></tbody></table>
<section id="file" hidden><h2 id="file-title"></h2><p id="file-who"></p><table><tbody id="visits"></tbody></table></section></main>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-mine","mine"],["h-kind","kind"],["h-customer","customer"],["h-vehicle","vehicle"],["h-cause","cause"],["h-due","due"],["h-who","who"],["signout","signout"],["lang","other"]]) text(id, T[key]);
/// The customer's file and the vehicle's visits, beside the call.
async function showFile(dealer, task) {{
  text("error", "");
  $("file").hidden = false;
  text("file-title", (task.customer_name || "") + " " + (task.model || "") + " " + (task.vin || ""));
  const rows = $("visits"); rows.replaceChildren(); text("file-who", "");
  try {{
    if (task.customer_id) {{
      const file = await ask("/api/customers/file", {{ dealer: {{ value: dealer }}, customer_id: task.customer_id }});
      text("file-who", [file.name, (file.phones || []).map((p) => p.number).join(", "), file.district].filter(Boolean).join(" · "));
    }}
    if (task.vin) {{
      const history = await ask("/api/vehicles/history", {{ dealer: {{ value: dealer }}, vin: task.vin }});
      for (const v of (history.visits || []).slice().reverse()) {{
        const tr = rows.insertRow();
        for (const value of [v.closed_at ? new Date(v.closed_at).toLocaleDateString() : "", v.repair_order, (v.kind || "").replace("VISIT_KIND_", "").toLowerCase(), v.mileage_km ? v.mileage_km + " km" : "", v.service_advisor || ""]) tr.insertCell().textContent = value;
      }}
      if (!(history.visits || []).length) {{ const td = rows.insertRow().insertCell(); td.textContent = T.noVisits; }}
    }}
  }} catch (e) {{ text("error", e.message); }}
}}
function kindName(kind) {{ const key = kind.replace("TASK_KIND_", ""); return T.kinds[key] || key.toLowerCase().replaceAll("_", " "); }}
async function load() {{
  const dealer = $("dealer").value;
  const mine = $("mine").checked ? "&assignee=" + encodeURIComponent(session.principal) : "";
  const answer = await fetch("/api/worklist?dealer=" + encodeURIComponent(dealer) + mine);
  const body = await answer.json();
  text("error", answer.ok ? "" : body.error);
  const rows = $("tasks");
  rows.replaceChildren();
  if (!answer.ok) return;
  const tasks = body.tasks || [];
  text("summary", (body.total || 0) + " " + T.total + ", " + (body.overdue || 0) + " " + T.overdue);
  if (tasks.length === 0) {{ const tr = rows.insertRow(); const td = tr.insertCell(); td.colSpan = 7; td.textContent = T.none; }}
  const soon = Date.now() + 2 * 3600 * 1000;
  for (const task of tasks) {{
    const tr = rows.insertRow();
    const due = task.due_at ? Date.parse(task.due_at) : NaN;
    if (task.overdue) tr.className = "overdue"; else if (due < soon) tr.className = "soon";
    tr.dataset.task = task.task_id;
    const cells = [kindName(task.kind || ""), (task.customer_name || "") + " " + (task.phone || ""), (task.model || "") + " " + (task.vin || ""), task.cause || "", (task.due_at_text || "") + (task.overdue ? " · " + T.overdue : ""), task.claimed_by || task.assignee || ""];
    cells.forEach((value, i) => {{ const td = tr.insertCell(); td.textContent = value; if (i === 2 || i === 3 || i === 5) td.className = "wide"; }});
    tr.cells[1].style.cursor = "pointer"; tr.cells[1].title = T.showFile;
    tr.cells[1].onclick = () => showFile(dealer, task);
    const td = tr.insertCell();
    const act = (label, path, body) => {{
      const button = document.createElement("button");
      button.className = "primary"; button.textContent = label;
      button.onclick = async () => {{
        const done = await fetch(path, {{ method: "POST", headers: {{ "Content-Type": "application/json", "X-CSRF-Token": session.csrf }}, body: JSON.stringify(body) }});
        if (!done.ok) text("error", (await done.json()).error);
        load();
      }};
      td.appendChild(button); td.append(" ");
    }};
    const ref = {{ dealer: {{ value: dealer }}, task_id: task.task_id }};
    if (!task.claimed_by) {{ act(T.claim, "/api/tasks/claim", ref); continue; }}
    act(T.noAnswer, "/api/tasks/attempt", {{ ...ref, result: "ATTEMPT_RESULT_NO_ANSWER" }});
    act(T.reached, "/api/tasks/attempt", {{ ...ref, result: "ATTEMPT_RESULT_REACHED" }});
    act(T.satisfied, "/api/tasks/outcome", {{ ...ref, satisfaction: "SATISFACTION_VERY_SATISFIED" }});
  }}
}}
start(() => {{
  $("dealer").onchange = load; $("mine").onchange = load;
  load();
}});
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// Links between the pages.
fn nav(english: bool) -> String {
    let links: [(&str, &str, &str); 6] = [
        ("/worklist", "Worklist", "回访工作台"),
        ("/complaints", "Complaints", "投诉看板"),
        ("/churn", "Churn", "流失率"),
        ("/targets", "Targets", "目标达成"),
        ("/club", "Owner club", "车主俱乐部"),
        ("/operations", "Operations", "运维"),
    ];
    links
        .iter()
        .map(|(href, en, zh)| format!("<a href=\"{href}\">{}</a>", if english { en } else { zh }))
        .collect()
}

/// The complaint board: a dealer's tickets, overdue first, then by grade and
/// deadline, with the next step of each a click away.
pub fn complaints(english: bool) -> String {
    let strings = if english {
        r#"{"title":"Complaint board","dealer":"Dealer","overdueOnly":"Only overdue","ticket":"Ticket","grade":"Grade","status":"Status","what":"Complaint","owner":"Handler / owner","deadline":"Resolve by","overdue":"overdue","ack":"Acknowledge","escalate":"Escalate","escalateWhy":"Why escalate?","resolve":"Resolve","resolution":"How was it resolved?","close":"Close","none":"No complaints.","total":"tickets","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"投诉看板","dealer":"经销商","overdueOnly":"只看逾期","ticket":"工单","grade":"等级","status":"状态","what":"投诉内容","owner":"处理人 / 负责人","deadline":"解决期限","overdue":"已逾期","ack":"受理","escalate":"升级","escalateWhy":"升级原因？","resolve":"解决","resolution":"如何解决的？","close":"结案","none":"暂无投诉。","total":"个工单","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english {
        "Complaint board"
    } else {
        "投诉看板"
    };
    let nav = nav(english);
    let locale = if english { "en" } else { "zh-CN" };
    let body = format!(
        r##"<header><strong>aftercare</strong>{nav}<span id="who"></span>
<label><span id="l-dealer"></span> <select id="dealer"></select></label>
<label><input type="checkbox" id="overdue"> <span id="l-overdue"></span></label>
<a href="#" id="lang"></a>
<form method="post" action="/logout" style="margin-left:auto"><button id="signout"></button></form></header>
<main><h1 id="title"></h1><p id="summary" class="muted"></p><p id="error" class="error" role="alert"></p>
<table><thead><tr><th id="h-ticket" class="wide"></th><th id="h-grade"></th><th id="h-status"></th><th id="h-what"></th><th id="h-owner" class="wide"></th><th id="h-deadline"></th><th></th></tr></thead>
<tbody id="tickets"></tbody></table></main>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-overdue","overdueOnly"],["h-ticket","ticket"],["h-grade","grade"],["h-status","status"],["h-what","what"],["h-owner","owner"],["h-deadline","deadline"],["signout","signout"],["lang","other"]]) text(id, T[key]);
const local = (t) => t ? new Date(t).toLocaleString("{locale}", {{ timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" }}) : "";
async function load() {{
  const dealer = $("dealer").value;
  const answer = await fetch("/api/complaints?dealer=" + encodeURIComponent(dealer) + ($("overdue").checked ? "&overdue=true" : ""));
  const body = await answer.json();
  text("error", answer.ok ? "" : body.error);
  const rows = $("tickets");
  rows.replaceChildren();
  if (!answer.ok) return;
  const tickets = (body.tickets || []).slice().sort((a, b) =>
    (b.overdue === true) - (a.overdue === true) || (b.grade || 0) - (a.grade || 0) || String(a.resolve_by || "").localeCompare(String(b.resolve_by || "")));
  text("summary", tickets.length + " " + T.total);
  if (tickets.length === 0) {{ const tr = rows.insertRow(); const td = tr.insertCell(); td.colSpan = 7; td.textContent = T.none; }}
  for (const ticket of tickets) {{
    const tr = rows.insertRow();
    if (ticket.overdue) tr.className = "overdue";
    tr.dataset.ticket = ticket.ticket_id;
    const cells = [ticket.ticket_id, String(ticket.grade || ""), ticket.status || "", ticket.description || "", [ticket.handler, ticket.owner].filter(Boolean).join(" / "), local(ticket.resolve_by) + (ticket.overdue ? " · " + T.overdue : "")];
    cells.forEach((value, i) => {{ const td = tr.insertCell(); td.textContent = value; if (i === 0 || i === 4) td.className = "wide"; }});
    const td = tr.insertCell();
    const ref = {{ dealer: {{ value: dealer }}, ticket_id: ticket.ticket_id }};
    const act = (label, path, extra) => {{
      const button = document.createElement("button");
      button.className = "primary"; button.textContent = label;
      button.onclick = async () => {{
        const more = extra ? extra() : {{}};
        if (more === null) return;
        const done = await fetch(path, {{ method: "POST", headers: {{ "Content-Type": "application/json", "X-CSRF-Token": session.csrf }}, body: JSON.stringify({{ ...ref, ...more }}) }});
        if (!done.ok) text("error", (await done.json()).error);
        load();
      }};
      td.appendChild(button); td.append(" ");
    }};
    if (ticket.status === "open") act(T.ack, "/api/complaints/acknowledge");
    if (ticket.status === "open" || ticket.status === "in-progress") {{
      act(T.escalate, "/api/complaints/escalate", () => {{ const reason = prompt(T.escalateWhy); return reason ? {{ reason }} : null; }});
      act(T.resolve, "/api/complaints/resolve", () => {{ const resolution = prompt(T.resolution); return resolution ? {{ resolution }} : null; }});
    }}
    if (ticket.status === "resolved") act(T.close, "/api/complaints/close");
  }}
}}
start(() => {{
  $("dealer").onchange = load; $("overdue").onchange = load;
  load();
}});
</script>"##,
        common = COMMON,
    );
    page(english, title, &body)
}

/// The churn dashboard: the monthly rate over a year as a line, a month's
/// rate by model, region, vehicle age or advisor group as bars, and the
/// seed-style table by model, any month as of, rule A or B.
pub fn churn(english: bool) -> String {
    let strings = if english {
        r#"{"title":"Churn","dealer":"Dealer","month":"Month","rule":"Rule","by":"By","byModel":"Model","byRegion":"Region","byAge":"Vehicle age","byGroup":"Advisor group","trend":"Monthly churn rate","bars":"Churn rate by","table":"Churn table by model","value":"Model","base":"Vehicles","active":"Active","wavering":"Wavering","churned":"Churned","drifting":"Drifting","fully":"Fully churned","rate":"Rate","total":"Total","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"流失率","dealer":"经销商","month":"月份","rule":"口径","by":"维度","byModel":"车型","byRegion":"区域","byAge":"车龄","byGroup":"服务顾问组","trend":"月度流失率","bars":"流失率：按","table":"流失统计表（按车型）","value":"车型","base":"保有车辆","active":"活跃","wavering":"摇摆","churned":"流失","drifting":"深度流失","fully":"彻底流失","rate":"流失率","total":"合计","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Churn" } else { "流失率" };
    let nav = nav(english);
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
<table><thead><tr><th id="c-value"></th><th id="c-base"></th><th id="c-active" class="wide"></th><th id="c-wavering" class="wide"></th><th id="c-churned"></th><th id="c-drifting" class="wide"></th><th id="c-fully" class="wide"></th><th id="c-rate"></th></tr></thead><tbody id="table"></tbody></table>
</main>
<script src="/assets/echarts.min.js"></script>
<script>
const T = {strings};
{common}
for (const [id, key] of [["title","title"],["l-dealer","dealer"],["l-month","month"],["l-rule","rule"],["l-by","by"],["h-trend","trend"],["h-table","table"],["c-value","value"],["c-base","base"],["c-active","active"],["c-wavering","wavering"],["c-churned","churned"],["c-drifting","drifting"],["c-fully","fully"],["c-rate","rate"],["signout","signout"],["lang","other"]]) text(id, T[key]);
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
      const cells = [line.value || "—", String(line.base || 0), segment(line, "SEGMENT_ACTIVE"), segment(line, "SEGMENT_WAVERING"), segment(line, "SEGMENT_CHURNED"), segment(line, "SEGMENT_DRIFTING"), segment(line, "SEGMENT_FULLY_CHURNED"), percent(line.rate) + "%"];
      cells.forEach((value, i) => {{ const td = tr.insertCell(); td.textContent = value; if (i === 2 || i === 3 || i === 5 || i === 6) td.className = "wide"; }});
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
pub fn operations(english: bool) -> String {
    let strings = if english {
        r#"{"title":"Operations","head":"Event log head","projection":"Projection","checkpoint":"Checkpoint","lag":"Lag","dead":"Dead letters","open":"Open","letters":"Open dead letters","id":"Letter","dealer":"Dealer","state":"State","reason":"Reason","retry":"Retry","none":"No open dead letters.","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"运维","head":"事件日志头","projection":"投影","checkpoint":"检查点","lag":"滞后","dead":"死信","open":"未处理","letters":"未处理的死信","id":"死信","dealer":"经销商","state":"状态","reason":"原因","retry":"重试","none":"没有未处理的死信。","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Operations" } else { "运维" };
    let nav = nav(english);
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

/// Targets against actuals: per metric, each month's target as a line and
/// actual as bars, and the quarters, year to date and year with whether each
/// was met.
pub fn targets(english: bool) -> String {
    let strings = if english {
        r#"{"title":"Targets","dealer":"Dealer","year":"Year","target":"Target","actual":"Actual","period":"Period","met":"Met","yes":"yes","no":"no","none":"No targets set for this year.","lower":"lower is better","signout":"Sign out","other":"中文","otherLang":"zh"}"#
    } else {
        r#"{"title":"目标达成","dealer":"经销商","year":"年份","target":"目标","actual":"实际","period":"期间","met":"达成","yes":"是","no":"否","none":"本年度尚未设定目标。","lower":"越低越好","signout":"退出","other":"English","otherLang":"en"}"#
    };
    let title = if english { "Targets" } else { "目标达成" };
    let nav = nav(english);
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
pub fn club(english: bool) -> String {
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
    let nav = nav(english);
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
        assert!(super::worklist(false).contains("回访工作台"));
        assert!(super::worklist(true).contains("\"claim\":\"Claim\""));
    }
}
