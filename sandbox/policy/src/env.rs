//! Scrubbing credentials out of the environment the command receives.

/// Names and patterns removed by default (`*` matches any run of characters; matching
/// ignores case).
pub const DEFAULT_DENY: &[&str] = &[
    "AWS_*",
    "AZURE_*",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "*_TOKEN",
    "*_TOKEN_*",
    "*TOKEN",
    "*_SECRET*",
    "*SECRET",
    "*_KEY",
    "*_KEY_*",
    "*_APIKEY",
    "*PASSWORD*",
    "*PASSWD*",
    "*_PASS",
    "*CREDENTIAL*",
    "*_AUTH",
    "*_PAT",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
    "DOCKER_AUTH_CONFIG",
    "KUBECONFIG",
    "VAULT_*",
];

/// Names the built-in patterns match that are not secrets (a CA bundle's path, a
/// region): kept unless a policy's own `deny` names them.
pub const DEFAULT_KEEP: &[&str] = &["AWS_CA_BUNDLE", "AWS_REGION", "AWS_DEFAULT_REGION"];

/// True when `name` matches `pattern` (`*` = any run, case-insensitive).
#[cfg(test)]
fn matches(pattern: &str, name: &str) -> bool {
    matches_upper(&pattern.to_ascii_uppercase(), &name.to_ascii_uppercase())
}

/// [`matches`] for an already upper-cased pattern and name (no allocation: it runs for
/// every variable against every pattern).
fn matches_upper(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut remaining) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts = parts.peekable();
    if parts.peek().is_none() {
        return remaining.is_empty();
    }
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return remaining.ends_with(part);
        }
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// A pattern with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) pattern: String,
    pub(crate) origin: String,
    /// One of [`DEFAULT_DENY`], which does not remove [`DEFAULT_KEEP`].
    pub(crate) builtin: bool,
}

/// Variables as (name, value), or removals as (name, reason).
pub(crate) type Pairs = Vec<(String, String)>;

/// Splits `env` into what the command gets and what is removed (name, reason).
pub(crate) fn scrub(
    env: &[(String, String)],
    deny: &[Pattern],
    allow: &[Pattern],
) -> (Pairs, Pairs) {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    let upper = |patterns: &[Pattern]| -> Vec<String> {
        patterns
            .iter()
            .map(|p| p.pattern.to_ascii_uppercase())
            .collect()
    };
    let (deny_upper, allow_upper) = (upper(deny), upper(allow));
    for (name, value) in env {
        let name_upper = name.to_ascii_uppercase();
        let kept_by_default = DEFAULT_KEEP.contains(&name_upper.as_str());
        let denied = deny
            .iter()
            .zip(&deny_upper)
            .filter(|(p, _)| !(p.builtin && kept_by_default))
            .find(|(_, pattern)| matches_upper(pattern, &name_upper))
            .map(|(p, _)| p);
        let allowed = allow_upper
            .iter()
            .any(|pattern| matches_upper(pattern, &name_upper));
        match denied {
            Some(p) if !allowed => {
                removed.push((name.clone(), format!("`{}` ({})", p.pattern, p.origin)));
            }
            _ => kept.push((name.clone(), value.clone())),
        }
    }
    (kept, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("AWS_*", "AWS_SECRET_ACCESS_KEY"));
        assert!(matches("*_TOKEN", "GITHUB_TOKEN"));
        assert!(matches("*PASSWORD*", "db_password_file"));
        assert!(matches("SSH_AUTH_SOCK", "SSH_AUTH_SOCK"));
        assert!(!matches("*_TOKEN", "TOKENIZER_PATH"));
        assert!(!matches("AWS_*", "PATH"));
        assert!(!matches("*_KEY", "KEYBOARD"));
        assert!(matches("A*B*C", "AxxBxxC"));
        assert!(!matches("A*B*C", "AxxC"));
    }

    #[test]
    fn scrub_respects_allow() {
        let env = vec![
            ("PATH".to_owned(), "/bin".to_owned()),
            ("GITHUB_TOKEN".to_owned(), "ghp_x".to_owned()),
            ("PUBLIC_KEY".to_owned(), "k".to_owned()),
        ];
        let deny: Vec<Pattern> = DEFAULT_DENY
            .iter()
            .map(|p| Pattern {
                pattern: (*p).to_owned(),
                origin: "built-in".to_owned(),
                builtin: true,
            })
            .collect();
        let allow = vec![Pattern {
            pattern: "PUBLIC_KEY".to_owned(),
            origin: "global".to_owned(),
            builtin: false,
        }];
        let mut env = env;
        env.push(("AWS_CA_BUNDLE".to_owned(), "/etc/ca.pem".to_owned()));
        env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "s".to_owned()));
        let (kept, removed) = scrub(&env, &deny, &allow);
        let kept: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(kept, ["PATH", "PUBLIC_KEY", "AWS_CA_BUNDLE"]);
        assert_eq!(removed[0].0, "GITHUB_TOKEN");
        assert_eq!(removed[1].0, "AWS_SECRET_ACCESS_KEY");
        // A policy's own deny still removes a kept name.
        let mut deny = deny;
        deny.push(Pattern {
            pattern: "AWS_*".to_owned(),
            origin: "global".to_owned(),
            builtin: false,
        });
        let (kept, _) = scrub(&env, &deny, &allow);
        assert!(kept.iter().all(|(n, _)| n != "AWS_CA_BUNDLE"));
    }
}
