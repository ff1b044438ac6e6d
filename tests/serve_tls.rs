//! TLS through rustls (issue 4, deliver item 2): `serve --tls-cert --tls-key`
//! serves TLS only; with `--tls-client-ca` a client must present a
//! certificate from that CA. Certificates are made per run with rcgen: a CA,
//! a server certificate for localhost / 127.0.0.1, and client certificates
//! from that CA and from a stranger's.

mod common;

use std::{net::SocketAddr, path::Path, time::Duration};

use common::serve::{
    AUDITOR, Clients, Principals, authed, credentials_file, plaintext_channel, spawn_serve,
};
use gongkai_proto::v1 as pb;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tonic::{
    Code,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};
use tonic_health::pb::health_check_response::ServingStatus;

/// PEM certificate and key.
struct Pem {
    cert: String,
    key: String,
}

/// A CA that signs a server and a client certificate.
struct Pki {
    ca: Pem,
    server: Pem,
    client: Pem,
}

fn make_pki(name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");
    let ca_pem = Pem {
        cert: ca.pem(),
        key: String::new(),
    };

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server params");
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server.signed_by(&server_key, &ca).expect("server cert");

    let mut client = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client
        .distinguished_name
        .push(DnType::CommonName, format!("{name} client"));
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().expect("client key");
    let client_cert = client.signed_by(&client_key, &ca).expect("client cert");

    Pki {
        ca: ca_pem,
        server: Pem {
            cert: server_cert.pem(),
            key: server_key.serialize_pem(),
        },
        client: Pem {
            cert: client_cert.pem(),
            key: client_key.serialize_pem(),
        },
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write PEM");
    path.to_str().expect("utf-8").to_owned()
}

/// A TLS channel trusting `ca`, optionally presenting a client identity.
async fn tls_channel(
    addr: SocketAddr,
    ca: &str,
    identity: Option<&Pem>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
    }
    Channel::from_shared(format!("https://{addr}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(10))
        .tls_config(tls)?
        .connect()
        .await
}

/// Whether a health check over `channel` (if it connected at all) succeeds.
async fn serves(channel: Result<Channel, tonic::transport::Error>) -> Result<(), String> {
    let channel = channel.map_err(|e| format!("connect: {e:?}"))?;
    let mut c = Clients::new(channel);
    match c.health().await {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(other) => Err(format!("health {other:?}")),
        Err(s) => Err(format!("{:?}: {}", s.code(), s.message())),
    }
}

fn principals() -> Principals {
    Principals::new(&[("inspector", "*", AUDITOR)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_tls_clients_and_refuses_plaintext() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = make_pki("gongkai");
    let p = principals();
    let creds = credentials_file(dir.path(), &p);
    let cert = write(dir.path(), "server.pem", &pki.server.cert);
    let key = write(dir.path(), "server.key", &pki.server.key);
    let data = dir.path().join("data");
    let server = spawn_serve(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("utf-8"),
            "--credentials",
            creds.to_str().expect("utf-8"),
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
        &[],
    );
    assert!(server.listening.ends_with("(tls)"), "{}", server.listening);

    serves(tls_channel(server.addr, &pki.ca.cert, None).await)
        .await
        .expect("a TLS client trusting the CA is served");
    // Tokens still decide who may call.
    let mut c = Clients::new(
        tls_channel(server.addr, &pki.ca.cert, None)
            .await
            .expect("TLS"),
    );
    c.agency
        .list_agencies(authed(
            Some(p.token("inspector")),
            pb::ListAgenciesRequest::default(),
        ))
        .await
        .expect("an authenticated call over TLS");
    let anonymous = c
        .agency
        .list_agencies(authed(None, pb::ListAgenciesRequest::default()))
        .await
        .expect_err("no token over TLS");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let plain = serves(plaintext_channel(server.addr).await).await;
    assert!(
        plain.is_err(),
        "a plaintext client was served by a TLS server"
    );
    // A client that does not trust the server's CA refuses it.
    let stranger = make_pki("stranger");
    let untrusted = serves(tls_channel(server.addr, &stranger.ca.cert, None).await).await;
    assert!(
        untrusted.is_err(),
        "a server certificate from an unknown CA was accepted"
    );
    // And the server is still there for the right client.
    serves(tls_channel(server.addr, &pki.ca.cert, None).await)
        .await
        .expect("still serving after refused handshakes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_client_ca_only_clients_with_its_certificates_are_served() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pki = make_pki("gongkai");
    let p = principals();
    let creds = credentials_file(dir.path(), &p);
    let cert = write(dir.path(), "server.pem", &pki.server.cert);
    let key = write(dir.path(), "server.key", &pki.server.key);
    let ca = write(dir.path(), "ca.pem", &pki.ca.cert);
    let data = dir.path().join("data");
    // The TLS flags through their GONGKAI_* variables.
    let server = spawn_serve(
        &["serve"],
        &[
            ("GONGKAI_LISTEN", "127.0.0.1:0"),
            ("GONGKAI_DATA", data.to_str().expect("utf-8")),
            ("GONGKAI_CREDENTIALS", creds.to_str().expect("utf-8")),
            ("GONGKAI_TLS_CERT", &cert),
            ("GONGKAI_TLS_KEY", &key),
            ("GONGKAI_TLS_CLIENT_CA", &ca),
        ],
    );
    assert!(server.listening.ends_with("(tls)"), "{}", server.listening);

    let without = serves(tls_channel(server.addr, &pki.ca.cert, None).await).await;
    assert!(
        without.is_err(),
        "a client without a certificate was served"
    );
    let stranger = make_pki("stranger");
    let foreign =
        serves(tls_channel(server.addr, &pki.ca.cert, Some(&stranger.client)).await).await;
    assert!(
        foreign.is_err(),
        "a client certificate from another CA was accepted"
    );
    let plain = serves(plaintext_channel(server.addr).await).await;
    assert!(plain.is_err(), "plaintext was served");

    let channel = tls_channel(server.addr, &pki.ca.cert, Some(&pki.client))
        .await
        .expect("mutual TLS");
    let mut c = Clients::new(channel);
    assert_eq!(c.health().await.expect("health"), ServingStatus::Serving);
    c.audit
        .verify_audit_chain(authed(
            Some(p.token("inspector")),
            pb::VerifyAuditChainRequest {},
        ))
        .await
        .expect("an authenticated call over mutual TLS");
}
