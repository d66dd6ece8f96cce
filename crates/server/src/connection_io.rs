//! The byte stream under hyper, for one TLS connection. It adds three things
//! hyper leaves to the server:
//!
//! - **A send stall limit.** A client that stops reading its answers would
//!   otherwise hold the connection for as long as it likes.
//! - **A lingering close.** When the server ends a connection while the
//!   client is still sending (a body refused as too large), closing at once
//!   makes the kernel reset the connection, and the client loses the answer
//!   it has not read yet. So after sending TLS close_notify the server reads
//!   and discards what still arrives, for a bounded time and size.
//! - **JSON for hyper's own refusals.** hyper answers a request it cannot
//!   parse (a malformed request line, a head too large, an address over its
//!   64 KiB limit) itself, with an empty body. Those answers, and only those,
//!   are recognised by their exact shape and given the API's JSON error.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use kodekort_proto::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_rustls::server::TlsStream;

use crate::error::ApiError;

/// How long and how much a connection's IO may take.
#[derive(Debug, Clone)]
pub struct IoLimits {
    /// Longest a write may make no progress before the connection is closed.
    pub send_stall: Duration,
    /// Longest the lingering close waits for the client to stop sending.
    pub linger: Duration,
    /// Most bytes the lingering close reads and discards.
    pub linger_bytes: usize,
}

impl Default for IoLimits {
    fn default() -> Self {
        IoLimits {
            send_stall: Duration::from_secs(30),
            linger: Duration::from_secs(5),
            linger_bytes: 16 * 1024 * 1024,
        }
    }
}

/// A TLS stream with the limits above.
pub struct ConnectionIo {
    tls: TlsStream<TcpStream>,
    limits: IoLimits,
    /// Set while a write or flush is waiting on the client.
    stalled_since: Option<Pin<Box<Sleep>>>,
    /// A JSON answer being written in place of hyper's empty one, with the
    /// length hyper is told was written once it is out.
    replacement: Option<Replacement>,
    closing: Closing,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    stands_for: usize,
}

enum Closing {
    Open,
    Draining {
        deadline: Pin<Box<Sleep>>,
        discarded: usize,
    },
    Closed,
}

impl ConnectionIo {
    pub fn new(tls: TlsStream<TcpStream>, limits: IoLimits) -> ConnectionIo {
        ConnectionIo {
            tls,
            limits,
            stalled_since: None,
            replacement: None,
            closing: Closing::Open,
        }
    }
}

/// Turns `Pending` that lasts longer than `limit` into an error. Any progress
/// resets the clock.
fn bounded<T>(
    stalled_since: &mut Option<Pin<Box<Sleep>>>,
    limit: Duration,
    cx: &mut Context<'_>,
    poll: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    match poll {
        Poll::Ready(result) => {
            *stalled_since = None;
            Poll::Ready(result)
        }
        Poll::Pending => {
            let deadline = stalled_since.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
            match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                ))),
                Poll::Pending => Poll::Pending,
            }
        }
    }
}

impl AsyncRead for ConnectionIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnectionIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_none() {
            if let Some(bytes) = json_for_automatic_refusal(buf) {
                this.replacement = Some(Replacement {
                    bytes,
                    written: 0,
                    stands_for: buf.len(),
                });
            }
        }
        let Some(replacement) = this.replacement.as_mut() else {
            let poll = Pin::new(&mut this.tls).poll_write(cx, buf);
            return bounded(&mut this.stalled_since, this.limits.send_stall, cx, poll);
        };
        while replacement.written < replacement.bytes.len() {
            let poll =
                Pin::new(&mut this.tls).poll_write(cx, &replacement.bytes[replacement.written..]);
            match ready!(bounded(
                &mut this.stalled_since,
                this.limits.send_stall,
                cx,
                poll
            )) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => replacement.written += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let stands_for = replacement.stands_for;
        this.replacement = None;
        Poll::Ready(Ok(stands_for))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.tls).poll_flush(cx);
        bounded(&mut this.stalled_since, this.limits.send_stall, cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.closing {
                Closing::Open => {
                    // close_notify, then the TCP write side: the client reads
                    // the answer and an orderly end.
                    let poll = Pin::new(&mut this.tls).poll_shutdown(cx);
                    let result = ready!(bounded(
                        &mut this.stalled_since,
                        this.limits.send_stall,
                        cx,
                        poll
                    ));
                    if let Err(e) = result {
                        this.closing = Closing::Closed;
                        return Poll::Ready(Err(e));
                    }
                    this.closing = Closing::Draining {
                        deadline: Box::pin(tokio::time::sleep(this.limits.linger)),
                        discarded: 0,
                    };
                }
                Closing::Draining {
                    deadline,
                    discarded,
                } => {
                    if deadline.as_mut().poll(cx).is_ready() {
                        this.closing = Closing::Closed;
                        continue;
                    }
                    // Raw TCP: what still comes is never looked at, so it is
                    // not decrypted either.
                    let (tcp, _) = this.tls.get_mut();
                    let mut scratch = [0u8; 16 * 1024];
                    let mut read = ReadBuf::new(&mut scratch);
                    match Pin::new(tcp).poll_read(cx, &mut read) {
                        Poll::Ready(Ok(())) if !read.filled().is_empty() => {
                            *discarded += read.filled().len();
                            if *discarded > this.limits.linger_bytes {
                                this.closing = Closing::Closed;
                            }
                        }
                        // End of stream or an error: the client is done.
                        Poll::Ready(_) => this.closing = Closing::Closed,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                Closing::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

/// hyper's automatic answer to a request it could not parse is a status line,
/// `connection: close`, `content-length: 0` and `date`, nothing else. Every answer the router
/// makes carries `x-request-id` and so never has this shape. For such an
/// answer, returns the same status with the JSON error and `connection: close`
/// (hyper closes the connection after it).
fn json_for_automatic_refusal(buf: &[u8]) -> Option<Vec<u8>> {
    // Without the final "\n\r\n", every line ends in '\r'.
    let head = buf.strip_suffix(b"\n\r\n")?;
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r"));
    let status_line = lines.next()??;
    let code = match status_line.get(..13)? {
        b"HTTP/1.1 400 " => ErrorCode::MalformedHttp,
        b"HTTP/1.1 414 " => ErrorCode::UriTooLong,
        b"HTTP/1.1 431 " => ErrorCode::HeadersTooLarge,
        _ => return None,
    };
    let mut date = None;
    let mut length_zero = false;
    for line in lines {
        let line = line?;
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") && value == b"0" {
            length_zero = true;
        } else if name.eq_ignore_ascii_case(b"date") {
            date = Some(value);
        } else if !(name.eq_ignore_ascii_case(b"connection") && value == b"close") {
            return None;
        }
    }
    if !length_zero {
        return None;
    }
    let body = serde_json::to_vec(&ApiError::from(code).to_response()).ok()?;
    let mut out = Vec::with_capacity(160 + body.len());
    out.extend_from_slice(status_line);
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nconnection: close\r\n");
    if let Some(date) = date {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(head: &str) -> Option<String> {
        json_for_automatic_refusal(head.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn hypers_empty_refusals_get_the_json_error() {
        let date = "date: Thu, 03 Dec 2026 07:00:00 GMT";
        for (status, code) in [
            ("400 Bad Request", "malformed_http"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let out = replaced(&format!(
                "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{date}\r\n\r\n"
            ))
            .unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{head}"
            );
            assert!(head.contains("content-type: application/json"));
            assert!(head.contains("connection: close"));
            assert!(head.contains(date));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let json: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(json["error"]["code"], code);
        }
    }

    #[test]
    fn answers_of_the_router_are_left_alone() {
        for head in [
            // Ours carry a request id and a type.
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: 1\r\ncontent-length: 0\r\n\r\n",
            // A body follows the head.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\ndate: x\r\n\r\n{}",
            // Other statuses.
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
            "HTTP/1.1 204 No Content\r\ndate: x\r\n\r\n",
            // No length line.
            "HTTP/1.1 400 Bad Request\r\ndate: x\r\n\r\n",
        ] {
            assert_eq!(replaced(head), None, "{head:?}");
        }
    }
}
