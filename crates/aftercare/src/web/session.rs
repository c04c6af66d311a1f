//! Who is signed in on one browser: kept in the serving process behind a
//! random id, or sealed into the cookie under `web.session_key` so that every
//! console replica holding the key reads it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aftercare_runtime::hex::{decode as from_hex, encode as to_hex};
use aftercare_runtime::session_key::SessionKey;
use serde::{Deserialize, Serialize};

pub(super) const COOKIE: &str = "aftercare_session";
/// A session in the process ends after this long without a request.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// A sealed session ends this long after sign-in (a working day and more):
/// a cookie cannot be renewed without answering every request with a new one.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Session {
    pub token: String,
    pub principal: String,
    pub roles: Vec<String>,
    pub dealers: Vec<String>,
    pub csrf: String,
    /// Sealed sessions: the end, in seconds since the Unix epoch.
    #[serde(default)]
    pub expires: i64,
}

pub(super) enum Sessions {
    Local(Mutex<HashMap<String, (Session, Instant)>>),
    Sealed {
        key: Box<SessionKey>,
        /// Cookies signed out on this replica, until they expire anyway.
        signed_out: Mutex<HashMap<String, i64>>,
    },
}

/// 244 random bits from the system's source (two version-4 UUIDs), as hex:
/// session ids and CSRF tokens.
pub(super) fn random_token() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Sessions {
    pub fn local() -> Self {
        Sessions::Local(Mutex::new(HashMap::new()))
    }

    pub fn sealed(key: SessionKey) -> Self {
        Sessions::Sealed {
            key: Box::new(key),
            signed_out: Mutex::new(HashMap::new()),
        }
    }

    /// The cookie's value for a new session, and how long the browser keeps
    /// it (until it closes, for a session in the process).
    pub fn start(&self, mut session: Session) -> Option<(String, Option<Duration>)> {
        match self {
            Sessions::Local(sessions) => {
                let id = random_token();
                let mut sessions = sessions.lock().expect("not poisoned");
                // Sessions nobody came back to are forgotten as new ones start.
                sessions.retain(|_, (_, seen)| seen.elapsed() < IDLE);
                sessions.insert(id.clone(), (session, Instant::now()));
                Some((id, None))
            }
            Sessions::Sealed { key, .. } => {
                session.expires = now() + LIFETIME.as_secs() as i64;
                let plain = serde_json::to_vec(&session).ok()?;
                Some((to_hex(&key.seal(&plain)?), Some(LIFETIME)))
            }
        }
    }

    /// The session a cookie's value names, while it lasts.
    pub fn find(&self, value: &str) -> Option<Session> {
        match self {
            Sessions::Local(sessions) => {
                let mut sessions = sessions.lock().expect("not poisoned");
                let alive = sessions
                    .get(value)
                    .is_some_and(|(_, seen)| seen.elapsed() < IDLE);
                if !alive {
                    sessions.remove(value);
                    return None;
                }
                let (session, seen) = sessions.get_mut(value)?;
                *seen = Instant::now();
                Some(session.clone())
            }
            Sessions::Sealed { key, signed_out } => {
                let plain = key.open(&from_hex(value)?)?;
                let session: Session = serde_json::from_slice(&plain).ok()?;
                let alive = session.expires > now()
                    && !signed_out.lock().expect("not poisoned").contains_key(value);
                alive.then_some(session)
            }
        }
    }

    /// Signs the session out (a sealed one on this replica; the browser
    /// forgets its cookie on every one).
    pub fn end(&self, value: &str) {
        match self {
            Sessions::Local(sessions) => {
                sessions.lock().expect("not poisoned").remove(value);
            }
            Sessions::Sealed { signed_out, .. } => {
                let Some(session) = self.find(value) else {
                    return;
                };
                let mut signed_out = signed_out.lock().expect("not poisoned");
                let now = now();
                signed_out.retain(|_, expires| *expires > now);
                signed_out.insert(value.to_owned(), session.expires);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn someone() -> Session {
        Session {
            token: "token-of-wang-fang-0001".into(),
            principal: "王芳".into(),
            roles: vec!["callback-agent".into()],
            dealers: vec!["D001".into()],
            csrf: "c".repeat(64),
            expires: 0,
        }
    }

    const KEY: &str = "00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978";

    #[test]
    fn a_sealed_session_opens_on_every_replica_with_the_key_only() {
        let one = Sessions::sealed(SessionKey::parse(KEY).expect("key"));
        let two = Sessions::sealed(SessionKey::parse(KEY).expect("key"));
        let (cookie, keep) = one.start(someone()).expect("sealed");
        assert_eq!(keep, Some(LIFETIME));
        assert!(
            !cookie.contains("token-of-wang-fang"),
            "the token is sealed"
        );
        let found = two.find(&cookie).expect("the other replica reads it");
        assert_eq!(
            (found.principal.as_str(), found.token.as_str()),
            ("王芳", "token-of-wang-fang-0001")
        );
        assert!(found.expires > now());
        // Another key, an altered cookie, a made-up one: nobody.
        let stranger = Sessions::sealed(SessionKey::random().expect("key"));
        assert_eq!(stranger.find(&cookie), None);
        let mut altered = cookie.clone().into_bytes();
        altered[40] = if altered[40] == b'0' { b'1' } else { b'0' };
        assert_eq!(two.find(&String::from_utf8(altered).expect("ascii")), None);
        assert_eq!(two.find("not-hex"), None);
        // One past its end, though sealed with the key: nobody.
        let key = SessionKey::parse(KEY).expect("key");
        let old = Session {
            expires: now() - 1,
            ..someone()
        };
        let expired = to_hex(
            &key.seal(&serde_json::to_vec(&old).expect("json"))
                .expect("sealed"),
        );
        assert_eq!(two.find(&expired), None);
        // Signed out on a replica, gone there.
        two.end(&cookie);
        assert_eq!(two.find(&cookie), None);
    }

    #[test]
    fn a_session_in_the_process_is_found_by_its_id_until_signed_out() {
        let sessions = Sessions::local();
        let (id, keep) = sessions.start(someone()).expect("started");
        assert_eq!(keep, None);
        assert_eq!(
            sessions.find(&id).map(|s| s.principal),
            Some("王芳".to_owned())
        );
        assert_eq!(sessions.find("0".repeat(64).as_str()), None);
        sessions.end(&id);
        assert_eq!(sessions.find(&id), None);
    }
}
