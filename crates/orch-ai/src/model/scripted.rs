//! A model that answers from a script: for tests, demos and replaying recorded sessions.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::{BoxFuture, LanguageModel, ModelError, ModelReply, ModelRequest};

/// Answers each request with the next scripted reply and records every request it gets.
/// When the script runs out it answers with a `Malformed` error.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    replies: Mutex<VecDeque<Result<String, ModelError>>>,
    requests: Mutex<Vec<ModelRequest>>,
}

impl ScriptedModel {
    /// A model that will give these answers in order.
    pub fn new<I, S>(replies: I) -> ScriptedModel
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScriptedModel {
            replies: Mutex::new(replies.into_iter().map(|r| Ok(r.into())).collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Appends an error answer.
    pub fn push_error(&self, error: ModelError) {
        self.replies
            .lock()
            .expect("not poisoned")
            .push_back(Err(error));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().expect("not poisoned").clone()
    }
}

impl LanguageModel for ScriptedModel {
    fn describe(&self) -> String {
        "scripted/test".into()
    }

    fn complete<'a>(
        &'a self,
        request: &'a ModelRequest,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>> {
        self.requests
            .lock()
            .expect("not poisoned")
            .push(request.clone());
        let next = self.replies.lock().expect("not poisoned").pop_front();
        Box::pin(async move {
            match next {
                Some(Ok(text)) => Ok(ModelReply {
                    text,
                    model: "scripted".into(),
                    input_tokens: None,
                    output_tokens: None,
                    cost_usd: None,
                    attempts: 1,
                }),
                Some(Err(e)) => Err(e),
                None => Err(ModelError::Malformed {
                    provider: "scripted",
                    message: "the script has no more replies".into(),
                }),
            }
        })
    }
}
