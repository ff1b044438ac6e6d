//! Talking to a running server from the command line (`export`, `coverage`,
//! `backup --server`): sled admits one process, so these commands go through
//! the server that holds the store, under its access rules.

use std::{path::Path, time::Duration};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// The bearer token in `path`, refused when the file is empty.
pub(crate) fn token(path: &Path) -> Result<String, String> {
    let token = std::fs::read_to_string(path)
        .map_err(|e| format!("--token-file {}: {e}", path.display()))?
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(format!(
            "--token-file {}: the file is empty",
            path.display()
        ));
    }
    Ok(token)
}

/// A channel to `server`: plaintext for http://, TLS trusting `ca` for
/// https:// (`ca_flag` names the option in errors).
pub(crate) async fn channel(
    server: &str,
    ca: Option<&Path>,
    ca_flag: &str,
) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(server.to_owned())
        .map_err(|e| format!("--server {server}: {e}"))?
        .connect_timeout(Duration::from_secs(10));
    if server.starts_with("https://") {
        let Some(ca) = ca else {
            return Err(format!(
                "--server {server}: an https server needs {ca_flag} FILE to trust"
            ));
        };
        let pem = std::fs::read(ca).map_err(|e| format!("{ca_flag} {}: {e}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .map_err(|e| format!("{ca_flag} {}: {e}", ca.display()))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot reach {server}: {e}"))
}

/// `message` with the caller's bearer token.
pub(crate) fn authed<T>(token: &str, message: T) -> Result<tonic::Request<T>, String> {
    let mut r = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| "the token file holds characters a header cannot carry".to_owned())?;
    r.metadata_mut().insert("authorization", value);
    Ok(r)
}

/// A refusal as the command prints it.
pub(crate) fn status(s: &tonic::Status) -> String {
    format!("{:?}: {}", s.code(), s.message())
}

/// The runtime a one-shot command's calls run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
