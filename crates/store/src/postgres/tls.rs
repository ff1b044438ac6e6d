//! The database URL and TLS to the database, through rustls.
//!
//! `sslmode` means what it means to libpq (`psql`), so an operator's URL
//! behaves as it does everywhere else:
//! - `disable`: no TLS;
//! - `prefer` (the default) and `require`: TLS (`prefer` falls back to
//!   plain text when the server offers no TLS), the server's certificate
//!   not checked — with a CA given, `require` acts as `verify-ca`, as in
//!   libpq;
//! - `verify-ca`: the certificate must chain to the CA;
//! - `verify-full`: and name the host connected to.
//!
//! The CA is `sslrootcert=FILE` in the URL or the engine's CA file option
//! (which wins). tokio-postgres knows only the first three modes, so the
//! two verifying ones, and `sslrootcert`, are taken out of the URL here and
//! the rest is handed to it unchanged (several hosts,
//! `target_session_attrs`, `connect_timeout` …).

use std::{path::Path, sync::Arc, time::Duration};

use percent_encoding::percent_decode_str;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{Result, StoreError};

/// How the server's certificate is checked (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, not verified.
    Prefer,
    /// TLS, not verified (verified as `VerifyCa` when a CA is given).
    Require,
    /// TLS, the certificate chains to the CA.
    VerifyCa,
    /// TLS, the certificate chains to the CA and names the host.
    VerifyFull,
}

/// The connection settings made from a URL.
pub(crate) struct Connection {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
    pub(crate) mode: SslMode,
}

/// Applies when the URL sets no `connect_timeout`: a host that does not
/// answer is given up for the next one (or a retry) after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server sees as the client (`pg_stat_activity.application_name`)
/// unless the URL names another.
pub(crate) const APPLICATION_NAME: &str = "gongkai";

/// Parses `url` (a `postgres://` URL or a `key=value` connection string)
/// and makes its TLS connector. Nothing is connected yet.
pub(crate) fn connection(url: &str, ca_file: Option<&Path>) -> Result<Connection> {
    let (rest, mode, root_cert) = take_tls_params(url)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| StoreError::InvalidArgument(format!("database URL: {}", describe(&e))))?;
    let ca = ca_file
        .map(Path::to_path_buf)
        .or_else(|| root_cert.map(Into::into));
    let mode = match (mode, &ca) {
        (SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (m, _) => m,
    };
    config.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            tokio_postgres::config::SslMode::Require
        }
    });
    if config.get_application_name().is_none() {
        config.application_name(APPLICATION_NAME);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::InvalidArgument(format!("TLS: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => {
            Arc::new(Unverified(Arc::clone(&provider)))
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let Some(ca) = &ca else {
                return Err(StoreError::InvalidArgument(format!(
                    "database URL: sslmode={} needs the CA that signed the database's \
                     certificate: sslrootcert=FILE in the URL, or the CA file option",
                    if mode == SslMode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    }
                )));
            };
            let roots = Arc::new(root_store(ca)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| StoreError::InvalidArgument(format!("TLS: {e}")))?;
            if mode == SslMode::VerifyCa {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            }
        }
    };
    let mut tls = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // What PostgreSQL 17 asks of a direct TLS connection; harmless otherwise.
    tls.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Connection {
        config,
        tls: MakeRustlsConnect::new(tls),
        mode,
    })
}

/// Takes `sslmode` and `sslrootcert` out of a URL or connection string;
/// gives back the rest (with `sslmode` as tokio-postgres knows it) and the
/// two values.
fn take_tls_params(url: &str) -> Result<(String, SslMode, Option<String>)> {
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool> {
        match key {
            "sslmode" => {
                mode = match value {
                    "disable" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(StoreError::InvalidArgument(format!(
                            "database URL: sslmode={other} is not one of disable, prefer, \
                             require, verify-ca, verify-full"
                        )));
                    }
                };
                Ok(true)
            }
            "sslrootcert" => {
                root_cert = Some(value.to_owned());
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| {
                        StoreError::InvalidArgument(format!(
                            "database URL: parameter '{k}' is not UTF-8 once decoded"
                        ))
                    })
            };
            if !take(&decode(k)?, &decode(v)?)? {
                kept.push(pair);
            }
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        // key=value form: values in quotes are left to tokio-postgres.
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.split_once('=') {
                Some((k, v)) if !v.starts_with('\'') && take(k, v)? => {}
                _ => kept.push(word),
            }
        }
        kept.join(" ")
    };
    Ok((rest, mode, root_cert))
}

/// The certificates of a PEM file, as trust roots.
fn root_store(path: &Path) -> Result<RootCertStore> {
    let bad = |why: String| {
        StoreError::InvalidArgument(format!("database CA file {}: {why}", path.display()))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(roots)
}

/// `prefer` and `require`: any certificate (the handshake's signatures
/// are still checked, so the channel is encrypted to whoever holds the key).
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain is verified, the name is not. webpki checks the
/// chain before the name, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A tokio-postgres error with its causes (its own text names only the
/// kind: "db error", "error connecting to server").
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_modes_and_the_ca_are_taken_out_of_the_url() {
        let (rest, mode, ca) = take_tls_params(
            "postgres://u:p@a:1,b:2/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&target_session_attrs=read-write",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p@a:1,b:2/db?target_session_attrs=read-write"
        );
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(ca.as_deref(), Some("/etc/ca.pem"));
        let (rest, mode, ca) =
            take_tls_params("host=a sslmode=verify-ca sslrootcert=/ca user=u").unwrap();
        assert_eq!(rest, "host=a user=u");
        assert_eq!(mode, SslMode::VerifyCa);
        assert_eq!(ca.as_deref(), Some("/ca"));
        assert_eq!(
            take_tls_params("postgres://h/db").unwrap().1,
            SslMode::Prefer
        );
        assert!(matches!(
            take_tls_params("postgres://h/db?sslmode=allow"),
            Err(StoreError::InvalidArgument(m)) if m.contains("sslmode=allow")
        ));
    }

    #[test]
    fn modes_follow_libpq() {
        let c = connection("postgres://h/db?sslmode=require", None).unwrap();
        assert_eq!(c.mode, SslMode::Require);
        assert_eq!(c.config.get_application_name(), Some(APPLICATION_NAME));
        assert_eq!(c.config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let c = connection("postgres://h/db?sslmode=disable&application_name=x", None).unwrap();
        assert_eq!(c.mode, SslMode::Disable);
        assert_eq!(c.config.get_application_name(), Some("x"));
        // No CA for a verifying mode: refused before anything connects.
        let e = connection("postgres://h/db?sslmode=verify-full", None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("sslrootcert"), "{e}");
        // A CA that is not there: named.
        let e = connection(
            "postgres://h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem",
            None,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        // An unknown option: tokio-postgres's word, with its cause.
        let e = connection("postgres://h/db?nonsense=1", None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("nonsense"), "{e}");
    }
}
