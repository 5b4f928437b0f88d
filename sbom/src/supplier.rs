//! Who supplies each component, by one documented rule, and who made the document.
//!
//! A crate's supplier is, in this order (the first that applies; the document records
//! which, see [`SupplierRule`]):
//! 1. its declared `authors` (names, e-mail addresses kept), with its repository as URL;
//! 2. the owner of its `repository` URL (`https://github.com/tokio-rs/tokio` → `tokio-rs`,
//!    URL `https://github.com/tokio-rs`), the account that publishes the source;
//! 3. for a crate from a registry, the registry as distributor (`crates.io`);
//! 4. for a path crate of the workspace being described, the document's creator.
//!
//! The creator (the SBOM author with a contact) comes from the `sbom-contact` setting
//! (`Name <mail>`, a mail address or a URL), else from the primary package's repository
//! owner.

use crate::model::split_author;
use crate::purl::CrateSource;

/// Which rule gave a supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SupplierRule {
    Authors,
    RepositoryOwner,
    Registry,
    Workspace,
    /// The Rust toolchain (rustc, std): the Rust project.
    Toolchain,
}

impl SupplierRule {
    /// The words the documents record (`cordon:supplier:rule`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Authors => "authors",
            Self::RepositoryOwner => "repository-owner",
            Self::Registry => "registry",
            Self::Workspace => "workspace",
            Self::Toolchain => "toolchain",
        }
    }

    /// A sentence for the documents' comment fields.
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Self::Authors => "supplier: the crate's declared authors",
            Self::RepositoryOwner => {
                "supplier: the owner of the crate's repository URL (the crate declares no authors)"
            }
            Self::Registry => {
                "supplier: the registry that distributes the crate (it declares no authors and no repository)"
            }
            Self::Workspace => {
                "supplier: the creator of this SBOM (a path crate of the released workspace without authors or repository)"
            }
            Self::Toolchain => {
                "supplier: the Rust project, which builds and distributes the toolchain (https://www.rust-lang.org)"
            }
        }
    }
}

/// A supplier or creator: a name and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Supplier {
    pub(crate) name: String,
    pub(crate) url: Option<String>,
    /// E-mail addresses (one per declared author that gives one).
    pub(crate) emails: Vec<String>,
    pub(crate) rule: SupplierRule,
}

/// The supplier of a crate by the rule above; `creator` is the document's creator.
pub(crate) fn supplier(
    authors: &[String],
    repository: Option<&str>,
    homepage: Option<&str>,
    source: &CrateSource,
    creator: Option<&Supplier>,
) -> Option<Supplier> {
    let repository_url = repository.filter(|url| is_web_url(url));
    if !authors.is_empty() {
        let split: Vec<(String, Option<String>)> =
            authors.iter().map(|a| split_author(a)).collect();
        let names: Vec<&str> = split.iter().map(|(name, _)| name.as_str()).collect();
        return Some(Supplier {
            name: names.join(", "),
            url: repository_url
                .or_else(|| homepage.filter(|url| is_web_url(url)))
                .map(str::to_owned),
            emails: split.into_iter().filter_map(|(_, mail)| mail).collect(),
            rule: SupplierRule::Authors,
        });
    }
    let git_url = match source {
        CrateSource::Git { url, .. } => Some(url.as_str()),
        _ => None,
    };
    if let Some((owner, url)) = repository_url.or(git_url).and_then(repository_owner) {
        return Some(Supplier {
            name: owner,
            url: Some(url),
            emails: Vec::new(),
            rule: SupplierRule::RepositoryOwner,
        });
    }
    match source {
        CrateSource::CratesIo => Some(Supplier {
            name: "crates.io".to_owned(),
            url: Some("https://crates.io".to_owned()),
            emails: Vec::new(),
            rule: SupplierRule::Registry,
        }),
        CrateSource::Registry { url } => {
            let host = url
                .trim_start_matches("sparse+")
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .filter(|host| !host.is_empty())?;
            Some(Supplier {
                name: host.to_owned(),
                url: Some(format!("https://{host}")),
                emails: Vec::new(),
                rule: SupplierRule::Registry,
            })
        }
        CrateSource::Path => creator.map(|creator| Supplier {
            rule: SupplierRule::Workspace,
            ..creator.clone()
        }),
        CrateSource::Git { .. } => None,
    }
}

/// `https://host/owner/...` → (`owner`, `https://host/owner`); a URL with no path names
/// its host as owner. `None` for anything that is not an http(s) URL.
pub(crate) fn repository_owner(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let mut parts = rest.split(['/', '?', '#']).filter(|part| !part.is_empty());
    let host = parts.next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    match parts.next() {
        Some(owner) if !owner.contains(char::is_whitespace) => Some((
            owner.trim_start_matches('~').to_owned(),
            format!("https://{host}/{owner}"),
        )),
        _ => Some((host.to_owned(), format!("https://{host}"))),
    }
}

/// The document's creator: `contact` (`Name <mail>`, a mail address or a URL), else the
/// owner of `repository`.
pub(crate) fn creator(contact: Option<&str>, repository: Option<&str>) -> Option<Supplier> {
    if let Some(contact) = contact.map(str::trim).filter(|c| !c.is_empty()) {
        if is_web_url(contact) {
            let name = repository_owner(contact).map_or_else(|| contact.to_owned(), |(o, _)| o);
            return Some(Supplier {
                name,
                url: Some(contact.to_owned()),
                emails: Vec::new(),
                rule: SupplierRule::Workspace,
            });
        }
        let (name, mail) = split_author(contact);
        return Some(Supplier {
            name,
            url: repository.filter(|url| is_web_url(url)).map(str::to_owned),
            emails: mail.into_iter().collect(),
            rule: SupplierRule::Workspace,
        });
    }
    let (owner, _) = repository_owner(repository?)?;
    Some(Supplier {
        name: owner,
        url: repository.map(str::to_owned),
        emails: Vec::new(),
        rule: SupplierRule::Workspace,
    })
}

/// An `http(s)://` URL without spaces or quotes.
pub(crate) fn is_web_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() > "https://".len()
        && !text.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_of_repository_urls() {
        assert_eq!(
            repository_owner("https://github.com/tokio-rs/tokio"),
            Some(("tokio-rs".into(), "https://github.com/tokio-rs".into()))
        );
        assert_eq!(
            repository_owner("https://git.sr.ht/~user/repo"),
            Some(("user".into(), "https://git.sr.ht/~user".into()))
        );
        assert_eq!(
            repository_owner("https://example.org"),
            Some(("example.org".into(), "https://example.org".into()))
        );
        assert_eq!(repository_owner("github.com/not a url"), None);
        assert_eq!(repository_owner("ssh://git@host/x"), None);
    }

    #[test]
    fn rules_apply_in_order() {
        let authors = vec!["Jane <jane@example.com>".to_owned()];
        let by_authors = supplier(
            &authors,
            Some("https://github.com/o/r"),
            None,
            &CrateSource::CratesIo,
            None,
        )
        .unwrap();
        assert_eq!(by_authors.rule, SupplierRule::Authors);
        assert_eq!(by_authors.emails, ["jane@example.com"]);
        let by_owner = supplier(
            &[],
            Some("https://github.com/o/r"),
            None,
            &CrateSource::CratesIo,
            None,
        )
        .unwrap();
        assert_eq!(
            (by_owner.name.as_str(), by_owner.rule),
            ("o", SupplierRule::RepositoryOwner)
        );
        let by_registry =
            supplier(&[], Some("not a url"), None, &CrateSource::CratesIo, None).unwrap();
        assert_eq!(
            (by_registry.name.as_str(), by_registry.rule),
            ("crates.io", SupplierRule::Registry)
        );
        assert_eq!(supplier(&[], None, None, &CrateSource::Path, None), None);
        let creator = creator(Some("Team <team@example.com>"), None).unwrap();
        let by_workspace = supplier(&[], None, None, &CrateSource::Path, Some(&creator)).unwrap();
        assert_eq!(by_workspace.rule, SupplierRule::Workspace);
        assert_eq!(by_workspace.emails, ["team@example.com"]);
    }

    #[test]
    fn creators() {
        let by_url = creator(Some("https://example.com/security"), None).unwrap();
        assert_eq!(by_url.url.as_deref(), Some("https://example.com/security"));
        let by_repo = creator(None, Some("https://github.com/cordon-dev/cordon")).unwrap();
        assert_eq!(by_repo.name, "cordon-dev");
        assert!(creator(None, None).is_none());
    }
}
