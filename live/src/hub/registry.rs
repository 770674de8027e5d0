//! Which channels exist, who may subscribe to them, and their settings.
//!
//! A channel is registered by pattern: literal segments (`prices`) and parameters
//! (`users/:id/notifications`). Subscribing resolves a concrete name against the patterns and
//! asks the pattern's authorization callback, which sees the current user and the parameters.

use std::{sync::Arc, time::Duration};

use crate::cursor::{is_channel_name, is_token};

/// What an authorization callback decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Allow,
    /// Only signed-in users may subscribe (401 for anonymous clients).
    SignInRequired,
    /// Signed in, but not this user's channel (403).
    Forbidden,
    /// The pattern matches, but no such thing exists for this user, e.g. a job they never
    /// started (404, as for an unknown channel, so existence is not revealed to others).
    NotFound,
}

/// The parameters a name matched, e.g. `id = "alice"` for `users/:id/notifications`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Decides whether `user` (None: anonymous) may subscribe to a channel with these parameters.
pub type Authorize = Arc<dyn Fn(Option<&str>, &Params) -> Access + Send + Sync>;

/// Anyone may subscribe.
pub fn public() -> Authorize {
    Arc::new(|_, _| Access::Allow)
}

/// Any signed-in user may subscribe.
pub fn signed_in() -> Authorize {
    Arc::new(|user, _| match user {
        Some(_) => Access::Allow,
        None => Access::SignInRequired,
    })
}

/// Only the user named by the pattern parameter `param` may subscribe.
pub fn owner(param: &'static str) -> Authorize {
    Arc::new(move |user, params| match user {
        None => Access::SignInRequired,
        Some(user) if params.get(param) == Some(user) => Access::Allow,
        Some(_) => Access::Forbidden,
    })
}

/// Per-channel settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How many past events are kept for replay to reconnecting clients.
    pub history: usize,
    /// How often an idle stream of this channel sends a heartbeat comment.
    pub heartbeat: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            history: 256,
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// A name a pattern cannot match, or a pattern that cannot be registered.
#[derive(Debug, PartialEq, Eq)]
pub struct BadPattern(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

struct Entry {
    /// As registered, e.g. `users/:id/notifications`: what public stats count by.
    text: Arc<str>,
    pattern: Vec<Segment>,
    authorize: Authorize,
    settings: Settings,
}

/// The registered channel patterns. Built at start-up, then only read.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

/// A concrete channel name matched against its pattern.
#[derive(Clone)]
pub struct Resolved {
    /// The pattern it matched.
    pub pattern: Arc<str>,
    pub params: Params,
    pub settings: Settings,
    pub authorize: Authorize,
}

impl Registry {
    /// Adds a pattern such as `prices` or `users/:id/notifications`.
    pub fn register(
        &mut self,
        pattern: &str,
        settings: Settings,
        authorize: Authorize,
    ) -> Result<(), BadPattern> {
        let segments = pattern
            .split('/')
            .map(|segment| match segment.strip_prefix(':') {
                Some(name) if is_token(name) => Ok(Segment::Param(name.to_string())),
                None if is_token(segment) => Ok(Segment::Literal(segment.to_string())),
                _ => Err(BadPattern(format!(
                    "bad segment {segment:?} in {pattern:?}"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.entries.iter().any(|e| e.pattern == segments) {
            return Err(BadPattern(format!("{pattern:?} is registered twice")));
        }
        if settings.history == 0 {
            return Err(BadPattern(format!(
                "{pattern:?}: history must be at least 1"
            )));
        }
        self.entries.push(Entry {
            text: pattern.into(),
            pattern: segments,
            authorize,
            settings,
        });
        Ok(())
    }

    /// Every registered pattern, in the order registered.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.text)
    }

    /// The first pattern that matches `name`, with its parameters.
    pub fn resolve(&self, name: &str) -> Option<Resolved> {
        if !is_channel_name(name) {
            return None;
        }
        let parts: Vec<&str> = name.split('/').collect();
        self.entries.iter().find_map(|entry| {
            if entry.pattern.len() != parts.len() {
                return None;
            }
            let mut params = Vec::new();
            for (segment, part) in entry.pattern.iter().zip(&parts) {
                match segment {
                    Segment::Literal(literal) if literal == part => {}
                    Segment::Literal(_) => return None,
                    Segment::Param(key) => params.push((key.clone(), part.to_string())),
                }
            }
            Some(Resolved {
                pattern: entry.text.clone(),
                params: Params(params),
                settings: entry.settings,
                authorize: entry.authorize.clone(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let mut registry = Registry::default();
        registry
            .register("prices", Settings::default(), public())
            .unwrap();
        registry
            .register("users/:id/notifications", Settings::default(), owner("id"))
            .unwrap();
        registry
    }

    /// Literals match themselves; parameters capture their segment.
    #[test]
    fn resolves_literals_and_parameters() {
        let registry = registry();
        assert!(registry.resolve("prices").unwrap().params.0.is_empty());
        let resolved = registry.resolve("users/alice/notifications").unwrap();
        assert_eq!(resolved.params.get("id"), Some("alice"));
        for unknown in [
            "orders",
            "prices/x",
            "users/alice",
            "users//notifications",
            "users/a b/notifications",
            "",
        ] {
            assert!(registry.resolve(unknown).is_none(), "{unknown:?}");
        }
    }

    /// `owner` lets exactly the named user in, asks anonymous users to sign in.
    #[test]
    fn owner_authorizes_only_the_owner() {
        let resolved = registry().resolve("users/alice/notifications").unwrap();
        let ask = |user| (resolved.authorize)(user, &resolved.params);
        assert_eq!(ask(Some("alice")), Access::Allow);
        assert_eq!(ask(Some("bob")), Access::Forbidden);
        assert_eq!(ask(None), Access::SignInRequired);
    }

    /// Bad patterns are refused at registration.
    #[test]
    fn rejects_bad_patterns() {
        let mut registry = registry();
        for bad in ["", "a//b", ":", "a/:b c", "prices"] {
            assert!(
                registry
                    .register(bad, Settings::default(), public())
                    .is_err(),
                "{bad:?}"
            );
        }
    }
}
