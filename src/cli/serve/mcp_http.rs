//! Serve's `/mcp`: the MCP dispatcher of `kb mcp` over Streamable HTTP, one JSON-RPC message
//! per POST answered with one JSON body (no event stream: every tool answers at once, and the
//! server sends no requests of its own, so GET has nothing to stream and is refused as the
//! protocol allows). Owns the gate: only loopback peers, and no page of another site (the
//! `Origin` check against DNS rebinding), whatever address serve listens on.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use crate::cli::mcp;

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn forbidden(why: &str) -> Response {
    reply(
        StatusCode::FORBIDDEN,
        mcp::error(Value::Null, mcp::INVALID_REQUEST, why),
    )
}

/// Loopback peers only, and an `Origin`, when a browser sends one, of this machine.
pub(crate) async fn gate(req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    if !peer.is_some_and(|ip| ip.is_loopback()) {
        return forbidden("/mcp answers only on this machine (a loopback address)");
    }
    if let Some(origin) = req.headers().get(header::ORIGIN)
        && !local_origin(origin)
    {
        return forbidden("/mcp answers no page of another origin than localhost");
    }
    next.run(req).await
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, any port.
fn local_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if rest.starts_with('[') {
        rest.split_inclusive(']').next().unwrap_or(rest)
    } else {
        rest.split(':').next().unwrap_or(rest)
    };
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| host.eq_ignore_ascii_case(h))
}

/// One message in, its answer out: 202 and no body for a notification; 400 for a message that
/// is no JSON-RPC request (its error says why) or that names a protocol revision this server
/// does not speak; else 200, with a JSON-RPC error or result.
pub(crate) async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Sent on every request after initialize; the transport says an unknown one is a 400.
    if let Some(v) = headers.get("mcp-protocol-version")
        && !mcp::PROTOCOL_VERSIONS.iter().any(|p| v == p)
    {
        return reply(
            StatusCode::BAD_REQUEST,
            mcp::error(
                Value::Null,
                mcp::INVALID_REQUEST,
                format!(
                    "MCP-Protocol-Version {:?} is not one this server speaks ({}); initialize \
                     to agree on one",
                    String::from_utf8_lossy(v.as_bytes()),
                    mcp::PROTOCOL_VERSIONS.join(", ")
                ),
            ),
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return reply(
                e.status(),
                mcp::error(
                    Value::Null,
                    mcp::INVALID_REQUEST,
                    format!(
                        "the message cannot be read ({}); one message is at most {} bytes",
                        e.body_text(),
                        mcp::MAX_MESSAGE
                    ),
                ),
            );
        }
    };
    let loaded = state.index.load();
    let ctx = mcp::Ctx {
        kb: &loaded.kb,
        places: &state.places,
    };
    // A diff reads two bundles (half a second): off the threads that serve other requests.
    match tokio::task::block_in_place(|| mcp::handle(&ctx, &body, state.lang.into())) {
        None => StatusCode::ACCEPTED.into_response(),
        Some(answer) => {
            let code = answer["error"]["code"].as_i64();
            let status = if matches!(code, Some(mcp::PARSE_ERROR | mcp::INVALID_REQUEST)) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            reply(status, answer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use tower::ServiceExt;

    /// The gate in front of a route that always answers 200, asked from `peer` with `origin`.
    async fn status(peer: &str, origin: Option<&str>) -> StatusCode {
        let app = Router::new()
            .route("/mcp", axum::routing::post(|| async { "ok" }))
            .layer(axum::middleware::from_fn(gate));
        let mut req = Request::post("/mcp");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        let mut req = req.body(Body::empty()).expect("request");
        let peer: SocketAddr = peer.parse().expect("address");
        req.extensions_mut().insert(ConnectInfo(peer));
        app.oneshot(req).await.expect("answer").status()
    }

    #[tokio::test]
    async fn only_loopback_peers_and_local_origins_pass() {
        for peer in [
            "127.0.0.1:5000",
            "127.8.9.10:5000",
            "[::1]:5000",
            "[::ffff:127.0.0.1]:5000",
        ] {
            assert_eq!(status(peer, None).await, StatusCode::OK, "{peer}");
        }
        // serve --listen 0.0.0.0: a peer on the network is refused.
        for peer in [
            "192.0.2.7:5000",
            "[2001:db8::1]:5000",
            "[::ffff:192.0.2.7]:5000",
        ] {
            assert_eq!(status(peer, None).await, StatusCode::FORBIDDEN, "{peer}");
        }
        for origin in [
            "http://localhost:6274",
            "https://127.0.0.1",
            "http://[::1]:8080",
            "http://LOCALHOST",
        ] {
            assert_eq!(
                status("127.0.0.1:1", Some(origin)).await,
                StatusCode::OK,
                "{origin}"
            );
        }
        for origin in [
            "http://attacker.example",
            "http://localhost.attacker.example",
            "null",
            "file://",
            "http://127.0.0.1.nip.io",
        ] {
            assert_eq!(
                status("127.0.0.1:1", Some(origin)).await,
                StatusCode::FORBIDDEN,
                "{origin}"
            );
        }
    }
}
