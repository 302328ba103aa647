//! Server-side sessions for the pages: a random id in an `HttpOnly`,
//! `SameSite=Strict` cookie, and per session a CSRF token that every form
//! carries and that is compared in constant time.
//!
//! A visitor gets an anonymous session (and its CSRF token) with the sign-in
//! form; signing in replaces it with a new id, so an id known before sign-in is
//! worth nothing after. Sessions expire, and the oldest go when there are too
//! many.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

use crate::core::Caller;

/// The session cookie's name.
pub const COOKIE: &str = "finegrain_session";

/// One session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The CSRF token of this session's forms (hex).
    pub csrf: String,
    /// Who signed in; `None` before sign-in.
    pub caller: Option<Caller>,
    expires: Instant,
}

/// Every live session, by id.
pub struct Sessions {
    by_id: HashMap<String, Session>,
    lifetime: Duration,
    max: usize,
}

impl Sessions {
    /// No sessions yet.
    pub fn new(lifetime: Duration, max: usize) -> Sessions {
        Sessions { by_id: HashMap::new(), lifetime, max: max.max(1) }
    }

    /// The live session with this id.
    pub fn get(&mut self, id: &str) -> Option<Session> {
        let now = Instant::now();
        match self.by_id.get(id) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                self.by_id.remove(id);
                None
            }
            None => None,
        }
    }

    /// Starts a session for `caller` (or an anonymous one) and returns its id.
    pub fn start(&mut self, caller: Option<Caller>) -> Result<(String, Session), String> {
        let now = Instant::now();
        self.by_id.retain(|_, s| s.expires > now);
        while self.by_id.len() >= self.max {
            let oldest = self.by_id.iter().min_by_key(|(_, s)| s.expires).map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.by_id.remove(&id),
                None => break,
            };
        }
        let session = Session { csrf: random_hex()?, caller, expires: now + self.lifetime };
        let id = random_hex()?;
        self.by_id.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// Ends a session.
    pub fn end(&mut self, id: &str) {
        self.by_id.remove(id);
    }

    /// How long a session lasts.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

/// Whether `given` is this session's CSRF token, in constant time.
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    let (a, b) = (session.csrf.as_bytes(), given.as_bytes());
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The session id in a `Cookie` header, if any.
pub fn cookie_id(header: &str) -> Option<&str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).map(|(_, v)| v)
}

/// 32 random bytes as hex.
fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the operating system's random source failed: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_are_bounded() {
        let mut sessions = Sessions::new(Duration::from_secs(60), 2);
        let (a, session) = sessions.start(None).unwrap();
        assert_eq!(a.len(), 64);
        assert!(csrf_matches(&session, &session.csrf));
        assert!(!csrf_matches(&session, "x"));
        assert!(!csrf_matches(&session, &"0".repeat(64)));
        let (b, _) = sessions.start(None).unwrap();
        let (c, _) = sessions.start(None).unwrap();
        assert!(sessions.get(&a).is_none(), "the oldest session goes first");
        assert!(sessions.get(&b).is_some() && sessions.get(&c).is_some());
        sessions.end(&b);
        assert!(sessions.get(&b).is_none());

        let mut short = Sessions::new(Duration::ZERO, 10);
        let (d, _) = short.start(None).unwrap();
        assert!(short.get(&d).is_none(), "an expired session is gone");
    }

    #[test]
    fn cookie_header_parsing() {
        assert_eq!(cookie_id("a=1; finegrain_session=abc; b=2"), Some("abc"));
        assert_eq!(cookie_id("finegrain_sessionx=abc"), None);
        assert_eq!(cookie_id(""), None);
    }
}
