//! Errors in the reader's language. A gRPC error keeps its message in English
//! (for developers and the server log) and, when the request's dealer writes in
//! Chinese, also carries a `google.rpc.LocalizedMessage` in Chinese for the
//! person at the counter (the CLI and the console show it). Which language is
//! known once the request's dealer is: [`crate::Principal::dealer`] notes it for
//! the call, within the scope [`ReaderLayer`] opens around each call.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aftercare_kernel::Language;
use tonic::codegen::{Service, http};

/// Each dealer's language, as the `[dealers]` tables set it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Languages {
    pub default: Language,
    pub by_dealer: BTreeMap<String, Language>,
}

impl Languages {
    pub fn of(&self, dealer: &str) -> Language {
        self.by_dealer.get(dealer).copied().unwrap_or(self.default)
    }
}

struct Reader {
    languages: Arc<Languages>,
    language: Cell<Option<Language>>,
}

tokio::task_local! {
    static READER: Reader;
}

/// Runs `call` as one request: errors it makes are written for the dealer
/// its request names.
pub async fn scope<F: Future>(languages: Arc<Languages>, call: F) -> F::Output {
    READER
        .scope(
            Reader {
                languages,
                language: Cell::new(None),
            },
            call,
        )
        .await
}

/// The request names `dealer`: its errors are for that dealer's people.
pub fn reading_for(dealer: &str) {
    let _ = READER.try_with(|r| r.language.set(Some(r.languages.of(dealer))));
}

/// The language of the current request's dealer; English when no dealer was
/// named (or outside a request).
pub fn reader() -> Language {
    READER
        .try_with(|r| r.language.get())
        .ok()
        .flatten()
        .unwrap_or(Language::English)
}

/// A layer opening the reader's scope around each gRPC call.
#[derive(Clone)]
pub struct ReaderLayer(pub Arc<Languages>);

impl<S> tower_layer::Layer<S> for ReaderLayer {
    type Service = ReaderService<S>;

    fn layer(&self, inner: S) -> ReaderService<S> {
        ReaderService {
            inner,
            languages: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ReaderService<S> {
    inner: S,
    languages: Arc<Languages>,
}

impl<S, B> Service<http::Request<B>> for ReaderService<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = self.inner.call(request);
        Box::pin(scope(self.languages.clone(), call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_reads_in_its_dealers_language() {
        let languages = Arc::new(Languages {
            default: Language::Chinese,
            by_dealer: BTreeMap::from([("D002".to_owned(), Language::English)]),
        });
        let chinese = scope(languages.clone(), async {
            let before = reader();
            reading_for("D001");
            (before, reader())
        })
        .await;
        assert_eq!(chinese, (Language::English, Language::Chinese));
        let english = scope(languages, async {
            reading_for("D002");
            reader()
        })
        .await;
        assert_eq!(english, Language::English);
        assert_eq!(reader(), Language::English, "outside a request");
    }
}
