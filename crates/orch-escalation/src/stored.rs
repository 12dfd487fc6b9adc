//! PM messages as a store keeps them, one JSON document each: decoding them, and answering
//! one with the pair of documents a compare-and-set write needs. `orch msg answer`, the
//! dashboard and the demo's "human" all answer through [`answer_stored`], so an answer is
//! recorded the same way wherever it comes from.

use time::OffsetDateTime;

use crate::message::{Answered, LifecycleError, PmMessage, find_message};

/// A message and the exact document it was decoded from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPmMessage {
    /// The message.
    pub message: PmMessage,
    /// The stored document, as read.
    pub document: String,
}

/// A stored document that is not a PM message.
#[derive(Debug, thiserror::Error)]
#[error("PM message {id} is not readable: {source}")]
pub struct UndecodableMessage {
    /// The id it is stored under.
    pub id: String,
    /// Why.
    #[source]
    pub source: serde_json::Error,
}

/// Decodes the document stored under `id`.
pub fn decode_stored(id: &str, document: &str) -> Result<StoredPmMessage, UndecodableMessage> {
    let message = serde_json::from_str(document).map_err(|source| UndecodableMessage {
        id: id.to_owned(),
        source,
    })?;
    Ok(StoredPmMessage {
        message,
        document: document.to_owned(),
    })
}

/// An answer ready to write: store `document` in place of `expected` (the document the
/// answer was made against), and nothing if the stored one changed meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    /// The decided message and the action to apply.
    pub answered: Answered,
    /// The document read.
    pub expected: String,
    /// The decided message's document.
    pub document: String,
}

/// Answers message `id` (`PM-0007`, `pm-7` or `7`) of `messages` with `option`.
pub fn answer_stored(
    messages: &[StoredPmMessage],
    id: &str,
    option: &str,
    note: Option<&str>,
    now: OffsetDateTime,
) -> Result<StoredAnswer, LifecycleError> {
    answer_stored_by(messages, id, option, note, None, now)
}

/// [`answer_stored`], recording who answered (`cli`, `dashboard`, `slack:U123`, …).
pub fn answer_stored_by(
    messages: &[StoredPmMessage],
    id: &str,
    option: &str,
    note: Option<&str>,
    by: Option<&str>,
    now: OffsetDateTime,
) -> Result<StoredAnswer, LifecycleError> {
    let plain: Vec<PmMessage> = messages.iter().map(|m| m.message.clone()).collect();
    let message = find_message(&plain, id)?;
    let expected = messages
        .iter()
        .find(|m| m.message.id == message.id)
        .map(|m| m.document.clone())
        .unwrap_or_default();
    let answered = crate::message::answer_message_by(message, option, note, by, now)?;
    // Plain data with string keys: encoding cannot fail.
    let document = serde_json::to_string(&answered.message).expect("a PM message encodes");
    Ok(StoredAnswer {
        answered,
        expected,
        document,
    })
}

#[cfg(test)]
mod tests {
    use orch_core::TaskId;

    use super::*;
    use crate::{Action, DecisionOption, FailureContext, FailureKind, MessageId, MessageState};

    fn stored() -> StoredPmMessage {
        let failure = FailureContext::new(
            TaskId::new("TASK-A-001").unwrap(),
            FailureKind::TestsFailing,
            "2 tests failed",
        );
        let message = PmMessage::new(
            MessageId::from_seq(1),
            &failure,
            vec![
                DecisionOption::new("Retry", Action::Skip).recommended(),
                DecisionOption::new("Skip", Action::Skip),
            ],
            OffsetDateTime::UNIX_EPOCH,
        );
        let document = serde_json::to_string(&message).unwrap();
        decode_stored("PM-0001", &document).unwrap()
    }

    #[test]
    fn an_answer_carries_the_document_it_was_made_against() {
        let stored = stored();
        let answer = answer_stored(
            std::slice::from_ref(&stored),
            "pm-1",
            "b",
            Some("not needed"),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(answer.expected, stored.document);
        let decided = decode_stored("PM-0001", &answer.document).unwrap().message;
        assert!(matches!(decided.state, MessageState::Decided { .. }));
        assert_eq!(decided, answer.answered.message);
        assert!(matches!(
            answer_stored(&[stored], "PM-0002", "A", None, OffsetDateTime::UNIX_EPOCH),
            Err(LifecycleError::UnknownMessage { .. })
        ));
    }

    #[test]
    fn junk_names_its_id() {
        let err = decode_stored("PM-0009", "{not json").unwrap_err();
        assert_eq!(err.id, "PM-0009");
        assert!(err.to_string().contains("PM-0009"));
    }
}
