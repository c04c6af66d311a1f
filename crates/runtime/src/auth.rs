//! Bearer tokens mapped to principals with roles and a dealer scope, and the one
//! scope check every service uses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aftercare_eventstore::DealerId;
use serde::Deserialize;
use tonic::{Request, Status};

use crate::Secret;
use crate::ServiceError;
use crate::config::{AuthConfig, ConfigErrors};

/// What a principal may do. Names are the dealers' jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Operates the deployment: rebuilds, status, every command.
    Admin,
    /// Customer-care manager: runs callbacks, complaints, the owner club, reports.
    CareManager,
    CallbackAgent,
    ServiceAdvisor,
    /// Directors and general managers: owners of escalated complaints.
    Manager,
    /// The OEM call center: pushes hotline complaints and leads, reads feedback.
    Oem,
    /// A DMS integration: records service visits.
    Dms,
    /// Reads reports; personal data masked.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::CareManager,
        Role::CallbackAgent,
        Role::ServiceAdvisor,
        Role::Manager,
        Role::Oem,
        Role::Dms,
        Role::Viewer,
    ];

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CareManager => "care-manager",
            Role::CallbackAgent => "callback-agent",
            Role::ServiceAdvisor => "service-advisor",
            Role::Manager => "manager",
            Role::Oem => "oem",
            Role::Dms => "dms",
            Role::Viewer => "viewer",
        }
    }
}

/// Which dealers a principal may act for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DealerScope {
    All,
    Group {
        name: String,
        dealers: BTreeSet<DealerId>,
    },
    Dealer(DealerId),
}

impl DealerScope {
    pub fn allows(&self, dealer: &DealerId) -> bool {
        match self {
            DealerScope::All => true,
            DealerScope::Group { dealers, .. } => dealers.contains(dealer),
            DealerScope::Dealer(d) => d == dealer,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub roles: BTreeSet<Role>,
    pub scope: DealerScope,
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }

    /// `PermissionDenied` unless the scope covers `dealer`. The message names the
    /// dealer the caller asked for and nothing about the dealer's data.
    pub fn authorize_dealer(&self, dealer: &DealerId) -> Result<(), ServiceError> {
        if self.scope.allows(dealer) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(format!(
                "{} may not act for dealer {dealer}",
                self.name
            )))
        }
    }

    pub fn require_role(&self, any_of: &[Role]) -> Result<(), ServiceError> {
        if any_of.iter().any(|r| self.has_role(*r)) {
            Ok(())
        } else {
            let names: Vec<_> = any_of.iter().map(|r| r.as_str()).collect();
            Err(ServiceError::PermissionDenied(format!(
                "{} needs one of the roles {}",
                self.name,
                names.join(", ")
            )))
        }
    }

    /// The dealer a request names in `field`, once the principal is known to
    /// have one of `roles` and the dealer is in its scope.
    pub fn dealer_for(
        &self,
        field: &str,
        value: impl DealerField,
        roles: &[Role],
    ) -> Result<DealerId, ServiceError> {
        self.require_role(roles)?;
        self.dealer(field, value)
    }

    /// The dealer a request names in `field`, once it is known to be in the
    /// principal's scope: the one place a request's dealer is read.
    pub fn dealer(&self, field: &str, value: impl DealerField) -> Result<DealerId, ServiceError> {
        let dealer = DealerId::parse(value.dealer_text())
            .map_err(|e| ServiceError::invalid(field, e.to_string()))?;
        self.authorize_dealer(&dealer)?;
        crate::i18n::reading_for(dealer.as_str());
        Ok(dealer)
    }

    /// Whether phone numbers and names are shown unmasked to this principal.
    pub fn sees_personal_data(&self) -> bool {
        [
            Role::Admin,
            Role::CareManager,
            Role::CallbackAgent,
            Role::ServiceAdvisor,
            Role::Manager,
            Role::Oem,
        ]
        .iter()
        .any(|r| self.roles.contains(r))
    }

    /// The principal a request was authenticated as (set by [`Authenticator`]).
    pub fn of<T>(request: &Request<T>) -> Result<Arc<Principal>, Status> {
        request
            .extensions()
            .get::<Arc<Principal>>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no authenticated principal"))
    }
}

/// One configured token: `scope` is `"all"`, `"group:<name>"` or `"dealer:<id>"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub token: Secret,
    /// Role names (`care-manager`, …), read here so that a wrong one is named
    /// by its key.
    pub roles: Vec<String>,
    pub scope: String,
    /// A sign-in name for the web console: with `password_hash`, a person
    /// signs in with the name and a password instead of pasting the token.
    #[serde(default)]
    pub login: Option<String>,
    /// What `aftercare hash-password` printed for the login's password.
    #[serde(default)]
    pub password_hash: Option<Secret>,
}

/// Why a configured token is not one, if it is not: too short, a placeholder
/// copied from an example, or too few different characters to be guessed hard.
fn weak_token(token: &str) -> Option<String> {
    if token.chars().count() < 16 {
        return Some("must be at least 16 characters".to_owned());
    }
    let lower = token.to_ascii_lowercase();
    let placeholder = token.contains('…')
        || [
            "change-me",
            "changeme",
            "example",
            "placeholder",
            "your-token",
            "xxxx",
        ]
        .iter()
        .any(|p| lower.contains(p));
    if placeholder {
        return Some(
            "looks like a placeholder from an example; generate a token, e.g. `openssl rand -hex 32`"
                .to_owned(),
        );
    }
    let distinct: std::collections::BTreeSet<char> = token.chars().collect();
    if distinct.len() < 8 {
        return Some(format!(
            "has only {} different characters; generate a token, e.g. `openssl rand -hex 32`",
            distinct.len()
        ));
    }
    None
}

/// The tokens a server accepts.
#[derive(Clone, Debug, Default)]
pub struct TokenTable {
    entries: Vec<(Secret, Arc<Principal>)>,
    logins: Vec<Login>,
}

/// A console sign-in name, its password's hash and the token it stands for.
#[derive(Clone, Debug)]
pub struct Login {
    pub name: String,
    pub password: crate::password::PasswordHash,
    pub token: Secret,
}

impl TokenTable {
    pub fn from_config(config: &AuthConfig) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let mut entries = Vec::new();
        let mut logins = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for (i, token) in config.tokens.iter().enumerate() {
            let at = format!("auth.tokens[{i}] ({})", token.name);
            if let Some(reason) = weak_token(token.token.expose()) {
                errors.push(format!("{at}.token: {reason}"));
            }
            if token.roles.is_empty() {
                errors.push(format!("{at}.roles: must name at least one role"));
            }
            let mut roles = Vec::new();
            for (j, name) in token.roles.iter().enumerate() {
                match Role::parse(name) {
                    Some(role) => roles.push(role),
                    None => errors.push(format!(
                        "{at}.roles[{j}]: {name:?} is not a role; roles: {}",
                        Role::ALL.map(Role::as_str).join(", ")
                    )),
                }
            }
            match (&token.login, &token.password_hash) {
                (None, None) => {}
                (Some(login), Some(hash)) => {
                    let name = login.trim();
                    if name.is_empty() || name.chars().any(char::is_whitespace) {
                        errors.push(format!(
                            "{at}.login: {login:?} must be a name without spaces"
                        ));
                    } else if names.contains(&name) {
                        errors.push(format!("{at}.login: {name:?} is configured twice"));
                    } else {
                        names.push(name);
                    }
                    match crate::password::PasswordHash::parse(hash.expose()) {
                        Ok(password) => logins.push(Login {
                            name: name.to_owned(),
                            password,
                            token: token.token.clone(),
                        }),
                        Err(reason) => errors.push(format!("{at}.password_hash: {reason}")),
                    }
                }
                (Some(_), None) => errors.push(format!(
                    "{at}.password_hash: a login needs one (`aftercare hash-password` prints it)"
                )),
                (None, Some(_)) => errors.push(format!(
                    "{at}.login: a password_hash needs the name it signs in with"
                )),
            }
            match parse_scope(&token.scope, &config.groups) {
                Ok(scope) => entries.push((
                    token.token.clone(),
                    Arc::new(Principal {
                        name: token.name.clone(),
                        roles: roles.into_iter().collect(),
                        scope,
                    }),
                )),
                Err(reason) => errors.push(format!("{at}.scope: {reason}")),
            }
        }
        for (i, (a, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(b, _)| a.matches(b.expose())) {
                errors.push(format!(
                    "auth.tokens[{i}].token: the same token is configured twice"
                ));
            }
        }
        if errors.is_empty() {
            Ok(Self { entries, logins })
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn insert(&mut self, token: Secret, principal: Principal) {
        self.entries.push((token, Arc::new(principal)));
    }

    pub fn lookup(&self, token: &str) -> Option<Arc<Principal>> {
        self.entries
            .iter()
            .find(|(secret, _)| secret.matches(token))
            .map(|(_, p)| p.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The console's sign-in names.
    pub fn logins(&self) -> &[Login] {
        &self.logins
    }
}

fn parse_scope(scope: &str, groups: &BTreeMap<String, Vec<String>>) -> Result<DealerScope, String> {
    if scope == "all" {
        return Ok(DealerScope::All);
    }
    if let Some(dealer) = scope.strip_prefix("dealer:") {
        return DealerId::parse(dealer)
            .map(DealerScope::Dealer)
            .map_err(|e| e.to_string());
    }
    if let Some(name) = scope.strip_prefix("group:") {
        let members = groups
            .get(name)
            .ok_or_else(|| format!("no group {name:?} in auth.groups"))?;
        let dealers = members
            .iter()
            .map(|d| DealerId::parse(d.as_str()).map_err(|e| format!("group {name}: {e}")))
            .collect::<Result<BTreeSet<_>, _>>()?;
        return Ok(DealerScope::Group {
            name: name.to_owned(),
            dealers,
        });
    }
    Err(format!(
        "{scope:?} must be \"all\", \"group:<name>\" or \"dealer:<id>\""
    ))
}

/// The gRPC interceptor: `authorization: Bearer <token>` → a [`Principal`] in the
/// request's extensions, or `Unauthenticated`.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Arc<TokenTable>,
}

impl Authenticator {
    pub fn new(tokens: TokenTable) -> Self {
        Self {
            tokens: Arc::new(tokens),
        }
    }

    pub fn authenticate(
        &self,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Arc<Principal>, Status> {
        let header = metadata
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| Status::unauthenticated("authorization must be \"Bearer <token>\""))?;
        self.tokens
            .lookup(token)
            .ok_or_else(|| Status::unauthenticated("unknown token"))
    }
}

impl tonic::service::Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let principal = self.authenticate(request.metadata())?;
        tracing::Span::current().record("principal", principal.name.as_str());
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// A request's dealer field, whichever way its proto spells it (a string, or
/// `common.v1.DealerId`).
pub trait DealerField {
    fn dealer_text(&self) -> &str;
}

impl DealerField for &str {
    fn dealer_text(&self) -> &str {
        self
    }
}

impl DealerField for &String {
    fn dealer_text(&self) -> &str {
        self.as_str()
    }
}

impl DealerField for &aftercare_proto::common::v1::DealerId {
    fn dealer_text(&self) -> &str {
        self.value.as_str()
    }
}

impl DealerField for Option<&aftercare_proto::common::v1::DealerId> {
    fn dealer_text(&self) -> &str {
        self.map(|d| d.value.as_str()).unwrap_or_default()
    }
}

impl DealerField for &Option<aftercare_proto::common::v1::DealerId> {
    fn dealer_text(&self) -> &str {
        self.as_ref().map(|d| d.value.as_str()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(scope: &str) -> AuthConfig {
        AuthConfig {
            tokens: vec![TokenConfig {
                name: "north-manager".into(),
                token: Secret::new("0123456789abcdef0123"),
                roles: vec!["care-manager".to_owned()],
                scope: scope.into(),
                login: None,
                password_hash: None,
            }],
            groups: BTreeMap::from([(
                "north".to_owned(),
                vec!["D001".to_owned(), "D002".to_owned()],
            )]),
            tokens_file: None,
        }
    }

    fn dealer(d: &str) -> DealerId {
        DealerId::parse(d).expect("valid")
    }

    #[test]
    fn group_scope_covers_its_dealers_only() {
        let table = TokenTable::from_config(&config("group:north")).expect("valid");
        let p = table.lookup("0123456789abcdef0123").expect("known token");
        assert!(p.authorize_dealer(&dealer("D001")).is_ok());
        assert!(p.authorize_dealer(&dealer("D002")).is_ok());
        let denied = p
            .authorize_dealer(&dealer("D003"))
            .expect_err("outside the group");
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    }

    #[test]
    fn bad_scopes_are_named() {
        for (scope, fragment) in [
            ("group:south", "no group"),
            ("dealer:D 1", "dealer"),
            ("everyone", "must be"),
        ] {
            let err = TokenTable::from_config(&config(scope)).expect_err(scope);
            assert!(
                err.0
                    .iter()
                    .any(|e| e.contains("scope") && e.contains(fragment)),
                "{scope}: {err}"
            );
        }
    }

    #[test]
    fn placeholder_and_weak_tokens_are_refused() {
        for (token, fragment) in [
            ("…at least 16 characters…", "placeholder"),
            ("CHANGE-ME-CHANGE-ME-1234", "placeholder"),
            ("aaaaaaaaaaaaaaaaaaaa", "different characters"),
            ("short", "at least 16"),
        ] {
            let mut auth = config("all");
            auth.tokens[0].token = Secret::new(token);
            let err = TokenTable::from_config(&auth).expect_err(token);
            assert!(
                err.0
                    .iter()
                    .any(|e| e.contains(".token") && e.contains(fragment)),
                "{token}: {err}"
            );
        }
        assert!(weak_token("3f9c1d2e8b7a6f5e4d3c2b1a0f9e8d7c").is_none());
    }

    #[test]
    fn an_unknown_role_is_named_by_its_key() {
        let mut auth = config("all");
        auth.tokens[0].roles = vec!["care-manager".into(), "root".into()];
        let err = TokenTable::from_config(&auth).expect_err("root");
        assert!(
            err.0.iter().any(|e| e.contains("auth.tokens[0] (")
                && e.contains(".roles[1]: \"root\" is not a role")),
            "{err}"
        );
    }

    #[test]
    fn a_login_needs_a_readable_password_hash_and_a_name_of_its_own() {
        let hash = crate::password::PasswordHash::new("wang-fang-2026", 100_000)
            .expect("hash")
            .to_string();
        let mut auth = config("all");
        auth.tokens[0].login = Some("wangfang".into());
        auth.tokens[0].password_hash = Some(Secret::new(hash.clone()));
        let table = TokenTable::from_config(&auth).expect("valid");
        let login = &table.logins()[0];
        assert_eq!(login.name, "wangfang");
        assert!(login.password.verify("wang-fang-2026"));
        assert!(login.token.matches("0123456789abcdef0123"));

        let mut second = auth.tokens[0].clone();
        second.token = Secret::new("fedcba9876543210fedcba");
        auth.tokens.push(second);
        auth.tokens[0].password_hash = Some(Secret::new("hunter2"));
        auth.tokens.push(TokenConfig {
            login: Some("wang fang".into()),
            ..auth.tokens[1].clone()
        });
        auth.tokens[2].token = Secret::new("a1b2c3d4e5f6a7b8c9d0e1");
        auth.tokens.push(TokenConfig {
            login: None,
            token: Secret::new("9f8e7d6c5b4a39281706ff"),
            ..auth.tokens[1].clone()
        });
        let err = TokenTable::from_config(&auth).expect_err("four mistakes");
        let said = err.0.join("\n");
        for expected in [
            "auth.tokens[0] (north-manager).password_hash: must be `pbkdf2-sha256$",
            "auth.tokens[1] (north-manager).login: \"wangfang\" is configured twice",
            "auth.tokens[2] (north-manager).login: \"wang fang\" must be a name without spaces",
            "auth.tokens[3] (north-manager).login: a password_hash needs the name",
        ] {
            assert!(said.contains(expected), "{expected} not in:\n{said}");
        }
    }

    #[test]
    fn wrong_or_missing_token_is_unauthenticated() {
        let auth = Authenticator::new(TokenTable::from_config(&config("all")).expect("valid"));
        let mut md = tonic::metadata::MetadataMap::new();
        assert_eq!(
            auth.authenticate(&md).expect_err("missing").code(),
            tonic::Code::Unauthenticated
        );
        md.insert(
            "authorization",
            "Bearer not-the-token-at-all".parse().expect("ascii"),
        );
        assert_eq!(
            auth.authenticate(&md).expect_err("wrong").code(),
            tonic::Code::Unauthenticated
        );
        md.insert(
            "authorization",
            "Bearer 0123456789abcdef0123".parse().expect("ascii"),
        );
        assert_eq!(auth.authenticate(&md).expect("right").name, "north-manager");
    }
}
