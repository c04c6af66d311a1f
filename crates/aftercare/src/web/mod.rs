//! The staff web console: pages for people, JSON for the pages, served on a
//! port of its own. It has no business logic of its own: every answer comes
//! from the gRPC services, called
//! with the signed-in person's token, so their roles, dealer scope and the
//! masking of personal data are exactly the API's.
//!
//! Sign-in takes an API token, or a login and password configured for one
//! (`auth.tokens[].login`, `password_hash`). The session lives in the serving
//! process behind a random id or, with `web.session_key` so that every
//! console replica reads it, sealed into the cookie itself (see `session`).
//! Either way the cookie is one scripts cannot read (`HttpOnly`), that no
//! other site's page sends (`SameSite=Strict`), and that is `Secure` behind
//! TLS. Every write also carries the session's CSRF token in a header, which a
//! form on another site cannot set.
//!
//! `aftercare serve` serves the console beside its services; `aftercare
//! console` serves only the console, asking the services at `web.upstreams`.

mod pages;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aftercare_proto::analytics::v1 as analytics;
use aftercare_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use aftercare_proto::callback::v1 as callback;
use aftercare_proto::callback::v1::callback_service_client::CallbackServiceClient;
use aftercare_proto::complaint::v1 as complaint;
use aftercare_proto::complaint::v1::complaint_service_client::ComplaintServiceClient;
use aftercare_proto::intake::v1 as intake;
use aftercare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use aftercare_proto::loyalty::v1 as loyalty;
use aftercare_proto::loyalty::v1::loyalty_service_client::LoyaltyServiceClient;
use aftercare_proto::system::v1 as system;
use aftercare_proto::system::v1::system_service_client::SystemServiceClient;
use aftercare_runtime::Role;
use aftercare_runtime::auth::Login;
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tonic::transport::Channel;

use session::{COOKIE, Session, Sessions, random_token};

/// The console's pages, each with the roles the service behind it answers:
/// the lists the services check, so a person's navigation offers the pages
/// that will work for them (administrators pass every check).
const PAGES: &[(&str, &[Role])] = &[
    ("/worklist", aftercare_callback::api::READERS),
    ("/complaints", aftercare_complaint::api::READERS),
    ("/churn", aftercare_analytics::api::REPORT_READERS),
    ("/targets", aftercare_analytics::api::REPORT_READERS),
    ("/scorecards", aftercare_analytics::api::REPORT_READERS),
    ("/club", aftercare_loyalty::api::READERS),
    ("/operations", &[Role::Admin]),
];

/// The pages a person with `roles` may use, in the navigation's order.
fn pages_for(roles: &[String]) -> Vec<&'static str> {
    let roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
    PAGES
        .iter()
        .filter(|(_, allowed)| {
            roles
                .iter()
                .any(|r| *r == Role::Admin || allowed.contains(r))
        })
        .map(|(page, _)| *page)
        .collect()
}

/// The gRPC channel of each service the console asks.
#[derive(Clone)]
struct Upstreams {
    intake: Channel,
    callback: Channel,
    complaint: Channel,
    analytics: Channel,
    loyalty: Channel,
    system: Channel,
}

impl Upstreams {
    /// The services at their `configured` addresses, the others at `local`
    /// (the serving process's own gRPC server); every one missing is named.
    fn new(
        configured: &std::collections::BTreeMap<String, String>,
        local: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        use aftercare_runtime::config::CONSOLE_SERVICES;
        if local.is_none() {
            let missing: Vec<String> = CONSOLE_SERVICES
                .iter()
                .filter(|name| !configured.contains_key(**name))
                .map(|name| format!("web.upstreams.{name}"))
                .collect();
            if !missing.is_empty() {
                anyhow::bail!(
                    "{}: the console runs apart from the services, so it needs each one's gRPC address (e.g. \"http://aftercare-callback:50051\")",
                    missing.join(", ")
                );
            }
        }
        let channel = |name: &str| -> anyhow::Result<Channel> {
            let url = match (configured.get(name), local) {
                (Some(url), _) => url.clone(),
                (None, None) => anyhow::bail!("web.upstreams.{name}: not set"),
                (None, Some(local)) => {
                    let host = if local.ip().is_unspecified() {
                        SocketAddr::from(([127, 0, 0, 1], local.port()))
                    } else {
                        local
                    };
                    format!("http://{host}")
                }
            };
            Ok(Channel::from_shared(url.clone())
                .map_err(|e| anyhow::anyhow!("web.upstreams.{name}: {url:?}: {e}"))?
                .connect_lazy())
        };
        Ok(Upstreams {
            intake: channel("intake")?,
            callback: channel("callback")?,
            complaint: channel("complaint")?,
            analytics: channel("analytics")?,
            loyalty: channel("loyalty")?,
            system: channel("system")?,
        })
    }
}

#[derive(Clone)]
struct Console {
    upstreams: Upstreams,
    sessions: Arc<Sessions>,
    logins: Arc<Vec<Login>>,
    /// A hash no password matches, as costly as the logins' own, checked for
    /// names that are not logins.
    decoy: Arc<std::sync::OnceLock<aftercare_runtime::password::PasswordHash>>,
    /// Failed password sign-ins by login: how many, since when.
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

/// Failed passwords a login may have within [`LOCKOUT`] before it is refused
/// for the rest of that time.
const FAILURES: u32 = 5;
const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// The request's language: `lang` cookie, else the browser's first choice
/// (Chinese unless it prefers English).
fn english(headers: &HeaderMap) -> bool {
    let cookie = cookie(headers, "lang");
    match cookie.as_deref() {
        Some("en") => true,
        Some("zh") => false,
        _ => headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en")),
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A JSON error the pages show as it is.
fn refusal(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// A gRPC refusal as the page gets it, with an HTTP status: on a Chinese page
/// the service's words for a Chinese reader when it sent them (a dealer that
/// writes in Chinese), else its message.
fn from_status(status: tonic::Status, english: bool) -> Response {
    let code = match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::AlreadyExists | tonic::Code::Aborted => StatusCode::CONFLICT,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    use tonic_types::StatusExt;
    let localized = if english {
        None
    } else {
        status
            .get_details_localized_message()
            .map(|l| l.message)
            .filter(|m| !m.is_empty())
    };
    refusal(
        code,
        localized.unwrap_or_else(|| status.message().to_owned()),
    )
}

fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

impl Console {
    /// The session a request's cookie names, if it is alive.
    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.sessions.find(&cookie(headers, COOKIE)?)
    }

    /// The session of a write: signed in, and the CSRF header matching.
    fn writer(&self, headers: &HeaderMap) -> Result<Session, Box<Response>> {
        let session = self
            .session(headers)
            .ok_or_else(|| Box::new(refusal(StatusCode::UNAUTHORIZED, "sign in first")))?;
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if sent != session.csrf {
            return Err(Box::new(refusal(
                StatusCode::FORBIDDEN,
                "this change did not come from the console's own page (missing or wrong X-CSRF-Token)",
            )));
        }
        Ok(session)
    }
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

/// Why a password sign-in failed, in the reader's language.
enum PasswordRefusal {
    Wrong,
    Locked(Duration),
}

impl Console {
    /// The token a login's password stands for. Unknown names cost the same
    /// hashing as known ones, so the time taken does not tell them apart; a
    /// login with too many failures is refused without checking. Failures are
    /// counted for configured logins only, so made-up names cannot fill the
    /// count's memory.
    async fn password_token(&self, login: &str, password: &str) -> Result<String, PasswordRefusal> {
        {
            let mut failures = self.failures.lock().expect("not poisoned");
            failures.retain(|_, (_, since)| since.elapsed() < LOCKOUT);
            if let Some((count, since)) = failures.get(login)
                && *count >= FAILURES
            {
                return Err(PasswordRefusal::Locked(
                    LOCKOUT.saturating_sub(since.elapsed()),
                ));
            }
        }
        let entry = self.logins.iter().find(|l| l.name == login).cloned();
        let known = entry.is_some();
        let password = password.to_owned();
        let decoy = self.decoy.clone();
        let rounds = self
            .logins
            .iter()
            .map(|l| l.password.iterations())
            .max()
            .unwrap_or(aftercare_runtime::password::ITERATIONS);
        let token = tokio::task::spawn_blocking(move || match entry {
            Some(entry) if entry.password.verify(&password) => {
                Some(entry.token.expose().to_owned())
            }
            Some(_) => None,
            None => {
                let decoy = decoy.get_or_init(|| {
                    aftercare_runtime::password::PasswordHash::new(&random_token(), rounds)
                        .expect("a random token is long enough")
                });
                decoy.verify(&password);
                None
            }
        })
        .await
        .ok()
        .flatten();
        let mut failures = self.failures.lock().expect("not poisoned");
        match token {
            Some(token) => {
                failures.remove(login);
                Ok(token)
            }
            None => {
                if known {
                    let entry = failures
                        .entry(login.to_owned())
                        .or_insert((0, Instant::now()));
                    entry.0 += 1;
                }
                Err(PasswordRefusal::Wrong)
            }
        }
    }
}

async fn sign_in(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let en = english(&headers);
    let refuse = |status: StatusCode, message: String| {
        (status, Html(pages::login(en, Some(&message)))).into_response()
    };
    let login = form.login.trim();
    let token = if login.is_empty() {
        form.token.trim().to_owned()
    } else {
        match console.password_token(login, &form.password).await {
            Ok(token) => token,
            Err(PasswordRefusal::Wrong) => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    if en {
                        "That login and password do not match.".to_owned()
                    } else {
                        "用户名或密码不正确。".to_owned()
                    },
                );
            }
            Err(PasswordRefusal::Locked(left)) => {
                let minutes = left.as_secs().div_ceil(60).max(1);
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    if en {
                        format!(
                            "Too many wrong passwords for {login}; try again in {minutes} minutes or sign in with your token."
                        )
                    } else {
                        format!(
                            "{login} 的密码错误次数过多，请 {minutes} 分钟后再试，或使用访问令牌登录。"
                        )
                    },
                );
            }
        }
    };
    let mut system = SystemServiceClient::new(console.upstreams.system.clone());
    let me = match system
        .who_am_i(bearer(system::WhoAmIRequest {}, &token))
        .await
    {
        Ok(me) => me.into_inner(),
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                if en {
                    "That token is not valid.".to_owned()
                } else {
                    "令牌无效。".to_owned()
                },
            );
        }
        Err(status) => return from_status(status, en),
    };
    let dealers = match me.scope.and_then(|s| s.scope) {
        Some(system::dealer_scope::Scope::Dealer(d)) => vec![d.value],
        Some(system::dealer_scope::Scope::Group(g)) => {
            g.dealers.into_iter().map(|d| d.value).collect()
        }
        _ => Vec::new(),
    };
    let Some((value, keep)) = console.sessions.start(Session {
        token,
        principal: me.principal,
        roles: me.roles.clone(),
        dealers,
        csrf: random_token(),
        expires: 0,
    }) else {
        return refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the session could not be sealed; try again",
        );
    };
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{}{}",
        keep.map(|d| format!("; Max-Age={}", d.as_secs()))
            .unwrap_or_default(),
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(home(&me.roles)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn sign_out(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(value) = cookie(&headers, COOKIE) {
        console.sessions.end(&value);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "aftercare_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

async fn login_page(headers: HeaderMap) -> Html<String> {
    Html(pages::login(english(&headers), None))
}

/// The first page a person may use: where signing in leads.
fn home(roles: &[String]) -> &'static str {
    pages_for(roles).first().copied().unwrap_or("/login")
}

async fn worklist_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/worklist", pages::worklist)
}

async fn session_json(State(console): State<Console>, headers: HeaderMap) -> Response {
    match console.session(&headers) {
        Some(s) => Json(serde_json::json!({
            "principal": s.principal,
            "roles": s.roles,
            "dealers": s.dealers,
            "pages": pages_for(&s.roles),
            "csrf": s.csrf,
        }))
        .into_response(),
        None => refusal(StatusCode::UNAUTHORIZED, "sign in first"),
    }
}

#[derive(Deserialize)]
struct WorklistQuery {
    dealer: String,
    #[serde(default)]
    assignee: String,
    /// Read once the worklist has seen this log position (the page's own write).
    after: Option<u64>,
}

/// A read's consistency from an `after` query parameter: at least that log
/// position, so a page sees its own write.
fn after(position: Option<u64>) -> Option<aftercare_proto::common::v1::Consistency> {
    position.map(|value| aftercare_proto::common::v1::Consistency {
        min_position: Some(aftercare_proto::common::v1::Position { value }),
    })
}

async fn worklist_json(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(query): Query<WorklistQuery>,
) -> Response {
    let Some(session) = console.session(&headers) else {
        return refusal(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let mut calls = CallbackServiceClient::new(console.upstreams.callback.clone());
    let request = callback::WorklistRequest {
        dealer: Some(aftercare_proto::common::v1::DealerId {
            value: query.dealer,
        }),
        assignee: query.assignee,
        consistency: after(query.after),
        ..Default::default()
    };
    match calls.worklist(bearer(request, &session.token)).await {
        Ok(answer) => Json(aftercare_proto::json::to_json(&answer.into_inner())).into_response(),
        Err(status) => from_status(status, english(&headers)),
    }
}

/// A command's body in the proto3 JSON mapping of its request, every field
/// that cannot be read named with the reason.
fn command_body<M: prost::Message + prost::Name + Default>(
    body: &serde_json::Value,
) -> Result<M, Box<Response>> {
    aftercare_proto::json::from_json::<M>(body).map_err(|violations| {
        let reasons: Vec<String> = violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.reason))
            .collect();
        Box::new(refusal(StatusCode::BAD_REQUEST, reasons.join("; ")))
    })
}

/// A command handler: the signed-in person's write (CSRF checked), its body
/// read as the RPC's request in the proto3 JSON mapping, sent with their
/// token, the answer as JSON.
macro_rules! command {
    ($(#[$doc:meta])* $name:ident, $client:ident, $upstream:ident, $request:ty, $rpc:ident) => {
        $(#[$doc])*
        async fn $name(
            State(console): State<Console>,
            headers: HeaderMap,
            Json(body): Json<serde_json::Value>,
        ) -> Response {
            let session = match console.writer(&headers) {
                Ok(session) => session,
                Err(refused) => return *refused,
            };
            let request = match command_body::<$request>(&body) {
                Ok(request) => request,
                Err(refused) => return *refused,
            };
            let mut service = $client::new(console.upstreams.$upstream.clone());
            match service.$rpc(bearer(request, &session.token)).await {
                Ok(answer) => Json(aftercare_proto::json::to_json(&answer.into_inner())).into_response(),
                Err(status) => from_status(status, english(&headers)),
            }
        }
    };
}

command!(
    /// Claims a task for the caller.
    claim, CallbackServiceClient, callback, callback::ClaimTaskRequest, claim_task
);
command!(
    /// One call attempt: no answer, busy, wrong number, refused, reached.
    attempt, CallbackServiceClient, callback, callback::RecordAttemptRequest, record_attempt
);
command!(
    /// A task's outcome: satisfaction, an appointment, a churn reason, a complaint.
    outcome, CallbackServiceClient, callback, callback::RecordOutcomeRequest, record_outcome
);
command!(
    /// A day's appointment slots and how full each is, for the slot picker.
    day_slots, CallbackServiceClient, callback, callback::DaySlotsRequest, day_slots
);
command!(
    /// A month's callback measures: the dealer's and each person's.
    measures, CallbackServiceClient, callback, callback::MeasuresRequest, measures
);
command!(
    /// The month's churn scorecard: groups, advisors, agents, the service
    /// manager and the workshop supervisor with their incentives.
    scorecard, AnalyticsServiceClient, analytics, analytics::ChurnScorecardRequest, churn_scorecard
);
command!(
    /// A ticket with its timeline.
    complaint_ticket, ComplaintServiceClient, complaint, complaint::GetComplaintRequest, get_complaint
);
command!(
    /// The dealer's early warnings: long stays, repeated faults, reopened tickets.
    warnings, ComplaintServiceClient, complaint, complaint::ListWarningsRequest, list_warnings
);
command!(
    /// A month's churn rate, by rule and breakdown (a read, posted as a body).
    churn_report, AnalyticsServiceClient, analytics, analytics::ChurnReportRequest, churn_report
);
command!(
    /// The seed-style churn table: each segment's vehicles and the rate.
    churn_table, AnalyticsServiceClient, analytics, analytics::ChurnTableRequest, churn_table
);
command!(
    /// A year's targets against the actuals, month by month and by period.
    targets_report, AnalyticsServiceClient, analytics, analytics::TargetsReportRequest, targets_report
);
command!(
    /// A customer's file, beside a call (masked as the API masks it).
    customer_file, IntakeServiceClient, intake, intake::GetCustomerRequest, get_customer
);
command!(
    /// A vehicle's visits and sales, beside a call.
    vehicle_history, IntakeServiceClient, intake, intake::GetVehicleHistoryRequest, get_vehicle_history
);
command!(
    /// The owner club's month: members per card, joins, activity, points.
    club_stats, LoyaltyServiceClient, loyalty, loyalty::ClubStatsRequest, club_stats
);
command!(
    /// A member's card: tier, balance, what the next card needs.
    club_member, LoyaltyServiceClient, loyalty, loyalty::GetMemberRequest, get_member
);
command!(
    /// A member's points ledger, newest first.
    club_ledger, LoyaltyServiceClient, loyalty, loyalty::ListLedgerRequest, list_ledger
);
command!(
    /// Each projection's checkpoint, lag and dead letters (administrators).
    projection_status, SystemServiceClient, system, system::ProjectionStatusRequest, projection_status
);
command!(
    /// Dead letters with their reasons (administrators).
    dead_letters, SystemServiceClient, system, system::ListDeadLettersRequest, list_dead_letters
);
command!(
    /// Retries dead letters after a fix (administrators).
    retry_dead_letters, SystemServiceClient, system, system::RetryDeadLettersRequest, retry_dead_letters
);
command!(
    file_complaint,
    ComplaintServiceClient,
    complaint,
    complaint::FileComplaintRequest,
    file_complaint
);
command!(
    acknowledge,
    ComplaintServiceClient,
    complaint,
    complaint::TicketRequest,
    acknowledge_complaint
);
command!(
    escalate,
    ComplaintServiceClient,
    complaint,
    complaint::EscalateComplaintRequest,
    escalate_complaint
);
command!(
    resolve,
    ComplaintServiceClient,
    complaint,
    complaint::ResolveComplaintRequest,
    resolve_complaint
);
command!(
    close,
    ComplaintServiceClient,
    complaint,
    complaint::CloseComplaintRequest,
    close_complaint
);

#[derive(Deserialize)]
struct ComplaintsQuery {
    dealer: String,
    #[serde(default)]
    overdue: bool,
    /// Read once the board has seen this log position (the page's own write).
    after: Option<u64>,
}

/// The complaint board's tickets of a dealer.
async fn complaints_json(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(query): Query<ComplaintsQuery>,
) -> Response {
    let Some(session) = console.session(&headers) else {
        return refusal(StatusCode::UNAUTHORIZED, "sign in first");
    };
    let mut service = ComplaintServiceClient::new(console.upstreams.complaint.clone());
    let request = complaint::ListComplaintsRequest {
        dealer: Some(aftercare_proto::common::v1::DealerId {
            value: query.dealer,
        }),
        overdue_only: query.overdue,
        consistency: after(query.after),
        page: Some(aftercare_proto::common::v1::PageRequest {
            page_size: 500,
            ..Default::default()
        }),
        ..Default::default()
    };
    match service
        .list_complaints(bearer(request, &session.token))
        .await
    {
        Ok(answer) => Json(aftercare_proto::json::to_json(&answer.into_inner())).into_response(),
        Err(status) => from_status(status, english(&headers)),
    }
}

/// A page for the signed-in whose roles its service answers (their first
/// page otherwise); the sign-in for everyone else.
fn page_for(
    console: &Console,
    headers: &HeaderMap,
    path: &str,
    page: fn(bool, &[&str]) -> String,
) -> Response {
    let Some(session) = console.session(headers) else {
        return Redirect::to("/login").into_response();
    };
    let allowed = pages_for(&session.roles);
    let en = english(headers);
    if allowed.contains(&path) {
        return Html(page(en, &allowed)).into_response();
    }
    match allowed.first() {
        Some(first) => Redirect::to(first).into_response(),
        None => (
            StatusCode::FORBIDDEN,
            Html(pages::login(
                en,
                Some(if en {
                    "Your roles have no page in the console; ask your administrator."
                } else {
                    "您的角色在控制台中没有可用页面，请联系管理员。"
                }),
            )),
        )
            .into_response(),
    }
}

async fn complaints_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/complaints", pages::complaints)
}

async fn churn_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/churn", pages::churn)
}

async fn club_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/club", pages::club)
}

async fn targets_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/targets", pages::targets)
}

async fn scorecards_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/scorecards", pages::scorecards)
}

async fn operations_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    page_for(&console, &headers, "/operations", pages::operations)
}

/// Apache ECharts (the common build), vendored by scripts/vendor-web-assets.sh.
async fn echarts() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("assets/echarts.min.js"),
    )
        .into_response()
}

async fn root(State(console): State<Console>, headers: HeaderMap) -> Redirect {
    match console.session(&headers) {
        Some(session) => Redirect::to(home(&session.roles)),
        None => Redirect::to("/login"),
    }
}

/// How the console is set up: where it asks each service, how it keeps
/// sessions, who may sign in with a password.
pub struct Setup {
    upstreams: Upstreams,
    sessions: Sessions,
    logins: Vec<Login>,
}

impl Setup {
    /// The console of `config`, asking the services `web.upstreams` names and,
    /// for the others, the gRPC server at `local` (none for `aftercare
    /// console`, which then needs every one named); `logins` are the token
    /// table's.
    pub fn new(
        config: &aftercare_runtime::Config,
        local: Option<SocketAddr>,
        logins: Vec<Login>,
    ) -> anyhow::Result<Self> {
        let upstreams = Upstreams::new(&config.web.upstreams, local)?;
        let sessions = match &config.web.session_key {
            Some(key) => Sessions::sealed(
                aftercare_runtime::session_key::SessionKey::parse(key.expose())
                    .map_err(|reason| anyhow::anyhow!("web.session_key: {reason}"))?,
            ),
            None => Sessions::local(),
        };
        Ok(Self {
            upstreams,
            sessions,
            logins,
        })
    }

    /// Whether sessions are sealed into cookies, so that replicas share them.
    pub fn shared_sessions(&self) -> bool {
        matches!(self.sessions, Sessions::Sealed { .. })
    }
}

/// Serves the console on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    setup: Setup,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Setup {
        upstreams,
        sessions,
        logins,
    } = setup;
    let console = Console {
        upstreams,
        sessions: Arc::new(sessions),
        logins: Arc::new(logins),
        decoy: Arc::new(std::sync::OnceLock::new()),
        failures: Arc::new(Mutex::new(HashMap::new())),
    };
    let app = axum::Router::new()
        .route("/", get(root))
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(login_page).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/worklist", get(worklist_page))
        .route("/api/session", get(session_json))
        .route("/api/worklist", get(worklist_json))
        .route("/api/tasks/claim", post(claim))
        .route("/api/tasks/attempt", post(attempt))
        .route("/api/tasks/outcome", post(outcome))
        .route("/api/tasks/measures", post(measures))
        .route("/api/appointments/slots", post(day_slots))
        .route("/scorecards", get(scorecards_page))
        .route("/api/reports/scorecard", post(scorecard))
        .route("/api/complaints/ticket", post(complaint_ticket))
        .route("/api/complaints/warnings", post(warnings))
        .route("/complaints", get(complaints_page))
        .route("/churn", get(churn_page))
        .route("/api/customers/file", post(customer_file))
        .route("/api/vehicles/history", post(vehicle_history))
        .route("/club", get(club_page))
        .route("/api/club/stats", post(club_stats))
        .route("/api/club/member", post(club_member))
        .route("/api/club/ledger", post(club_ledger))
        .route("/targets", get(targets_page))
        .route("/api/reports/targets", post(targets_report))
        .route("/operations", get(operations_page))
        .route("/api/operations/status", post(projection_status))
        .route("/api/operations/dead-letters", post(dead_letters))
        .route("/api/operations/retry", post(retry_dead_letters))
        .route("/assets/echarts.min.js", get(echarts))
        .route("/api/reports/churn", post(churn_report))
        .route("/api/reports/churn-table", post(churn_table))
        .route("/api/complaints", get(complaints_json))
        .route("/api/complaints/file", post(file_complaint))
        .route("/api/complaints/acknowledge", post(acknowledge))
        .route("/api/complaints/escalate", post(escalate))
        .route("/api/complaints/resolve", post(resolve))
        .route("/api/complaints/close", post(close))
        .with_state(console);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
