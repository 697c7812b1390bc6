//! Answers reach clients that are still sending: the unread rest of a request body is read and
//! thrown away (up to a bound) before the answer goes out.
//!
//! A handler may answer before it has read the whole body: 413 for a body over the limit, 401
//! for a bad token, 404 for an unknown path. hyper then closes the connection with the client's
//! bytes still unread, the kernel answers them with a reset, and a client that is still writing
//! (curl, reqwest, any SDK) sees "broken pipe" or "connection reset" instead of the answer. nginx
//! avoids this with a lingering close; here the same is done one level up, which also keeps the
//! connection alive: [`finish_body`] gives every request a body that, when the handler drops it
//! unread, comes back to the middleware, which drains at most [`DRAIN_MAX_BYTES`] within
//! [`DRAIN_MAX_TIME`] and only then returns the answer. A body larger than that is cut off as
//! before (the answer is still sent; a client still writing may miss it).
//!
//! A client that sent `Expect: 100-continue` has not sent its body yet: it waits for `100
//! Continue`, which hyper writes the first time the body is read. If the handler answered
//! without reading it (413 on the declared length, 401), the body is not drained either, so the
//! client gets the final answer and never a `100 Continue`.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use parking_lot::Mutex;

/// The most unread body bytes read and discarded after an early answer (beyond the bytes the
/// handler itself read). Requests declaring a larger Content-Length are not drained at all.
pub const DRAIN_MAX_BYTES: u64 = 64 << 20;
/// The longest an early answer waits for the client to finish sending.
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

/// Where a body dropped unread goes back to.
type Slot = Arc<Mutex<Option<Body>>>;

/// The request body as handlers see it: the real one, handed back to [`Slot`] if dropped before
/// its end.
struct Returnable {
    inner: Option<Body>,
    slot: Slot,
    /// Whether the handler read from it (and so asked an `Expect: 100-continue` client to send).
    read: Arc<AtomicBool>,
}

impl HttpBody for Returnable {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.read.store(true, Ordering::Relaxed);
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Returnable {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !body.is_end_stream()
        {
            *self.slot.lock() = Some(body);
        }
    }
}

/// Middleware: runs the handler, then drains whatever of the request body it left unread (see
/// the module documentation) before the response is sent.
pub async fn finish_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slot: Slot = Arc::default();
    let read = Arc::new(AtomicBool::new(false));
    let body = Body::new(Returnable {
        inner: Some(body),
        slot: Arc::clone(&slot),
        read: Arc::clone(&read),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    let unread = slot.lock().take();
    // A client waiting for `100 Continue` that the handler never asked for has nothing to drain.
    let told_to_send = !expects_continue || read.load(Ordering::Relaxed);
    if let Some(rest) = unread
        && told_to_send
        && declared.is_none_or(|n| n <= DRAIN_MAX_BYTES)
    {
        // Whatever happens here (client gone, bound reached), the answer is sent: a drain
        // that stops early only means the connection closes after it, as it would have.
        let _ = tokio::time::timeout(DRAIN_MAX_TIME, discard(rest, DRAIN_MAX_BYTES)).await;
    }
    response
}

/// Reads and drops the body's frames until its end, an error, or `max` bytes.
async fn discard(mut body: Body, max: u64) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            seen += data.len() as u64;
            if seen > max {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use futures_util::StreamExt;
    use tower::ServiceExt;

    /// A body the handler never reads is drained in full: the stream reports its end.
    #[tokio::test]
    async fn unread_body_is_drained_before_the_answer() {
        let (tx, seen) = tokio::sync::oneshot::channel::<()>();
        let tx = Mutex::new(Some(tx));
        let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 4096])));
        let stream =
            futures_util::stream::iter(chunks).chain(futures_util::stream::once(async move {
                if let Some(tx) = tx.lock().take() {
                    let _ = tx.send(());
                }
                Ok(Bytes::new())
            }));
        let app = Router::new()
            .route("/", post(|| async { StatusCode::PAYLOAD_TOO_LARGE }))
            .layer(axum::middleware::from_fn(finish_body));
        let request = Request::post("/")
            .body(Body::from_stream(stream))
            .expect("request");
        let response = app.oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(seen.await.is_ok(), "the whole body was read");
    }

    /// A client waiting for `100 Continue` whose body the handler never read is not drained:
    /// reading it would make hyper send `100 Continue` and wait for a body it does not want.
    #[tokio::test]
    async fn unrequested_continue_body_is_not_drained() {
        let app = Router::new()
            .route("/", post(|| async { StatusCode::PAYLOAD_TOO_LARGE }))
            .layer(axum::middleware::from_fn(finish_body));
        let polled = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&polled);
        let endless = futures_util::stream::poll_fn(move |_| {
            seen.store(true, Ordering::Relaxed);
            std::task::Poll::<Option<Result<Bytes, std::io::Error>>>::Pending
        });
        let request = Request::post("/")
            .header(header::CONTENT_LENGTH, "100")
            .header(header::EXPECT, "100-Continue")
            .body(Body::from_stream(endless))
            .expect("request");
        let answer = tokio::time::timeout(Duration::from_secs(2), app.oneshot(request)).await;
        let response = answer.expect("answered at once").expect("response");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!polled.load(Ordering::Relaxed), "the body was never read");
    }

    /// A declared length over the bound is not drained: the answer does not wait for it.
    #[tokio::test]
    async fn huge_declared_body_is_not_drained() {
        let app = Router::new()
            .route("/", post(|| async { StatusCode::PAYLOAD_TOO_LARGE }))
            .layer(axum::middleware::from_fn(finish_body));
        // A stream that never ends: draining it would hang until DRAIN_MAX_TIME.
        let endless = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        let request = Request::post("/")
            .header(header::CONTENT_LENGTH, (DRAIN_MAX_BYTES + 1).to_string())
            .body(Body::from_stream(endless))
            .expect("request");
        let answer = tokio::time::timeout(Duration::from_secs(2), app.oneshot(request)).await;
        let response = answer.expect("answered at once").expect("response");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
