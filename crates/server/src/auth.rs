//! Who is calling: bearer tokens from a credentials file, stored as SHA-256
//! hashes and compared in constant time.
//!
//! ```toml
//! [[principal]]
//! name = "baoqing-office"          # shown in logs and the audit trail
//! agency = "11230523MB1234567X"    # its scope: this agency's subtree ("*" = everything)
//! roles = ["submitter"]            # submitter, reviewer, auditor, admin
//! token_sha256 = "9f86d081…"       # hex SHA-256 of the bearer token
//! ```

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::Arc,
};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a principal may do (SPEC.md, "Who does what").
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An agency's disclosure office: drafts and submits its own reports.
    Submitter,
    /// The supervising office: reviews the reports of the agencies under it.
    Reviewer,
    /// Evaluators, inspectors: read reports, history and the audit trail.
    Auditor,
    /// Operators: register agencies and the supervision tree.
    Admin,
}

impl Role {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Submitter => "submitter",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// Scope of a principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every agency (operators, local trial).
    Everything,
    /// This agency and its subtree.
    Agency(String),
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Name for logs and the audit trail.
    pub name: String,
    /// Where it may act.
    pub scope: Scope,
    /// What it may do.
    pub roles: BTreeSet<Role>,
}

impl Principal {
    /// Whether it holds a role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The local-trial principal: every role, everywhere.
    pub fn local_trial() -> Principal {
        Principal {
            name: "local-trial".into(),
            scope: Scope::Everything,
            roles: [Role::Submitter, Role::Reviewer, Role::Auditor, Role::Admin].into(),
        }
    }
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct Entry {
    name: String,
    agency: String,
    roles: Vec<Role>,
    token_sha256: String,
}

#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
struct File {
    #[serde(default)]
    principal: Vec<Entry>,
}

/// A token's SHA-256, compared in constant time.
#[derive(Clone, Copy, Debug)]
struct TokenHash([u8; 32]);

// Hashes the same bytes `eq` compares, so equal keys hash alike.
impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenHash {}

/// The credentials a server accepts, by token hash.
///
/// Found by a hash-map lookup, not by comparing every entry: a province has
/// thousands of agencies, and a scan would cost each call microseconds per
/// thousand. The map's own hashing is keyed at random and sees only the
/// SHA-256 of the presented token, and the hashes it compares are compared
/// in constant time, so timing tells nothing about stored tokens.
#[derive(Clone, Debug)]
pub struct Credentials {
    entries: HashMap<TokenHash, Arc<Principal>>,
}

/// Why a credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not the format above.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, and where.
        reason: String,
    },
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random bearer token (256 bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("gk_{}", hex::encode(bytes))
}

impl Credentials {
    /// Reads a credentials file.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: p.clone(),
            source,
        })?;
        Credentials::parse(&text).map_err(|reason| CredentialsError::Invalid { path: p, reason })
    }

    /// Parses the TOML form.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = HashMap::new();
        for (i, e) in file.principal.into_iter().enumerate() {
            let at = format!("principal #{} ({})", i.saturating_add(1), e.name);
            let hash: [u8; 32] = hex::decode(&e.token_sha256)
                .ok()
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| format!("{at}: token_sha256 must be 64 hex digits"))?;
            if e.roles.is_empty() {
                return Err(format!("{at}: no roles"));
            }
            let scope = match e.agency.trim() {
                "*" => Scope::Everything,
                a => {
                    let code = a.strip_prefix("agencies/").unwrap_or(a);
                    gongkai_domain::ids::validate_uscc(code)
                        .map_err(|err| format!("{at}: agency {code}: {err}"))?;
                    Scope::Agency(code.to_owned())
                }
            };
            let principal = Principal {
                name: e.name,
                scope,
                roles: e.roles.into_iter().collect(),
            };
            if let Some(other) = entries.insert(TokenHash(hash), Arc::new(principal)) {
                return Err(format!(
                    "{at}: its token is also principal {}'s; each principal needs its own",
                    other.name
                ));
            }
        }
        Ok(Credentials { entries })
    }

    /// Number of principals.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal a bearer token belongs to (shared, not copied per call).
    pub fn authenticate(&self, token: &str) -> Option<&Arc<Principal>> {
        self.entries
            .get(&TokenHash(Sha256::digest(token.as_bytes()).into()))
    }
}

/// The token of an `authorization` header value of the Bearer scheme: the
/// scheme name matched without regard to case and followed by one or more
/// spaces (RFC 7235 §2.1, RFC 6750 §2.1), the token one word after it.
/// None for another scheme, or no token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// A credentials file entry as TOML, for `gongkai token`.
pub fn entry_toml(name: &str, agency: &str, roles: &[Role], token: &str) -> Result<String, String> {
    let file = File {
        principal: vec![Entry {
            name: name.to_owned(),
            agency: agency.to_owned(),
            roles: roles.to_vec(),
            token_sha256: token_hash(token),
        }],
    };
    toml::to_string(&file).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_by_hash_only() {
        let token = new_token();
        let text = entry_toml("office", "11330700099033995K", &[Role::Submitter], &token).unwrap();
        assert!(
            !text.contains(&token),
            "the file holds the hash, never the token"
        );
        let c = Credentials::parse(&text).unwrap();
        let p = c.authenticate(&token).unwrap();
        assert_eq!(p.name, "office");
        assert_eq!(p.scope, Scope::Agency("11330700099033995K".into()));
        assert!(c.authenticate("wrong").is_none());
        assert!(c.authenticate("").is_none());
    }

    #[test]
    fn bad_files_are_refused_with_the_entry_named() {
        let bad_hash = "[[principal]]\nname='x'\nagency='*'\nroles=['admin']\ntoken_sha256='zz'\n";
        assert!(
            Credentials::parse(bad_hash)
                .unwrap_err()
                .contains("principal #1 (x)")
        );
        let bad_role = "[[principal]]\nname='x'\nagency='*'\nroles=['king']\ntoken_sha256='00'\n";
        assert!(Credentials::parse(bad_role).is_err());
        let bad_agency = format!(
            "[[principal]]\nname='x'\nagency='123'\nroles=['admin']\ntoken_sha256='{}'\n",
            "0".repeat(64)
        );
        assert!(
            Credentials::parse(&bad_agency)
                .unwrap_err()
                .contains("agency 123")
        );
    }

    #[test]
    fn every_one_of_many_principals_is_found_by_its_own_token() {
        let tokens: Vec<String> = (0..5000).map(|_| new_token()).collect();
        let text: String = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| entry_toml(&format!("p{i}"), "*", &[Role::Auditor], t).unwrap())
            .collect();
        let c = Credentials::parse(&text).unwrap();
        assert_eq!(c.len(), 5000);
        for (i, t) in tokens.iter().enumerate() {
            assert_eq!(c.authenticate(t).unwrap().name, format!("p{i}"));
        }
        assert!(c.authenticate(&new_token()).is_none());
    }

    #[test]
    fn the_bearer_scheme_is_matched_without_regard_to_case() {
        for (header, token) in [
            ("Bearer gk_1", Some("gk_1")),
            ("bearer gk_1", Some("gk_1")),
            ("BEARER gk_1", Some("gk_1")),
            ("bEaReR   gk_1", Some("gk_1")),
            ("Bearer gk_1 ", Some("gk_1")),
            ("Bearer ", None),
            ("Bearer", None),
            ("Bearer a b", None),
            ("Basic gk_1", None),
            ("Bearergk_1", None),
            ("gk_1", None),
        ] {
            assert_eq!(bearer_token(header), token, "{header:?}");
        }
    }

    #[test]
    fn two_principals_with_one_token_are_refused() {
        let token = new_token();
        let text = entry_toml("a", "*", &[Role::Admin], &token).unwrap()
            + &entry_toml("b", "*", &[Role::Auditor], &token).unwrap();
        let err = Credentials::parse(&text).unwrap_err();
        assert!(
            err.contains("principal #2 (b)") && err.contains("principal a"),
            "{err}"
        );
    }
}
