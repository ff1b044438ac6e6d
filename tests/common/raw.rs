//! Raw HTTP/2 gRPC calls, for the tests that behave as hostile or careless
//! clients do and tonic's client never would: a call that sends its headers
//! and never a body, and a stream whose replies are never read (its receive
//! window is never released, so the server can send no more than the
//! window).

#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};

/// One HTTP/2 connection. Dropping it closes the TCP connection, which
/// cancels every call still open on it.
#[derive(Debug)]
pub struct RawConn {
    send: SendRequest<Bytes>,
    authority: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A call in flight: its reply to come, and its request side, kept open
/// until the call is dropped.
#[derive(Debug)]
pub struct RawCall {
    response: ResponseFuture,
    /// Holding it keeps the request side open (no END_STREAM sent).
    _request: SendStream<Bytes>,
}

/// What came back first.
#[derive(Debug)]
pub enum RawReply {
    /// A trailers-only reply: the call ended at once with this gRPC status.
    Status {
        /// grpc-status.
        code: tonic::Code,
        /// grpc-message, percent-decoded.
        message: String,
    },
    /// Reply headers without a status: the call is open (a stream).
    Open(RecvStream),
}

impl RawConn {
    /// Connects to `addr` with this per-stream receive window (bytes); the
    /// connection's own window is large, so that each stream gets its
    /// whole window.
    pub async fn connect(addr: SocketAddr, stream_window: u32) -> RawConn {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(stream_window)
            .initial_connection_window_size(1 << 30)
            .handshake::<_, Bytes>(tcp)
            .await
            .expect("HTTP/2 handshake");
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        RawConn {
            send,
            authority: addr.to_string(),
            task,
        }
    }

    /// Starts a call of `path` (`/package.Service/Method`) with an
    /// `authorization` header for `auth` if given (sent as it is). With
    /// `body`, the message is sent framed and the request side ended; without,
    /// only the headers are sent, and the request side stays open.
    pub async fn call(&mut self, path: &str, auth: Option<&str>, body: Option<Bytes>) -> RawCall {
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", self.authority))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        let request = request.body(()).expect("request");
        let mut send = self.send.clone().ready().await.expect("connection ready");
        let (response, mut request_side) =
            send.send_request(request, false).expect("send the headers");
        if let Some(b) = body {
            request_side.send_data(b, true).expect("send the body");
        }
        RawCall {
            response,
            _request: request_side,
        }
    }
}

impl RawCall {
    /// Waits for the reply's headers.
    pub async fn reply(self) -> (RawReply, SendStream<Bytes>) {
        let response = self.response.await.expect("reply headers");
        let headers = response.headers();
        let reply = match headers.get("grpc-status") {
            Some(code) => RawReply::Status {
                code: tonic::Code::from_bytes(code.as_bytes()),
                message: grpc_message(headers),
            },
            None => RawReply::Open(response.into_body()),
        };
        (reply, self._request)
    }
}

/// The percent-decoded grpc-message of headers or trailers ("" if none).
fn grpc_message(headers: &http::HeaderMap) -> String {
    headers
        .get("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default()
}

/// A gRPC message frame: uncompressed, length-prefixed.
pub fn frame(message: &impl prost::Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(&body);
    Bytes::from(framed)
}

/// Reads data from an open reply without releasing any of it back to the
/// server's window, until `bytes` have arrived or the stream ends; returns
/// how many arrived. The server can then send nothing more on this stream.
pub async fn read_without_release(stream: &mut RecvStream, bytes: usize) -> usize {
    let mut got = 0;
    while got < bytes {
        match stream.data().await {
            Some(Ok(chunk)) => got += chunk.len(),
            Some(Err(e)) => panic!("stream failed: {e}"),
            None => break,
        }
    }
    got
}

/// (VmRSS in KiB, thread count) of a process, from /proc/PID/status.
pub fn rss_and_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}

/// Reads an open reply to its end, releasing the window as a well-behaved
/// client does; returns its grpc-status, grpc-message and the data bytes
/// read.
pub async fn finish(mut stream: RecvStream) -> (tonic::Code, String, usize) {
    let mut bytes = 0;
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.expect("reply data");
        bytes += chunk.len();
        let _ = stream.flow_control().release_capacity(chunk.len());
    }
    let trailers = stream
        .trailers()
        .await
        .expect("reply trailers")
        .expect("a reply ends with trailers");
    let code = trailers.get("grpc-status").expect("grpc-status");
    (
        tonic::Code::from_bytes(code.as_bytes()),
        grpc_message(&trailers),
        bytes,
    )
}
