//! Clarifying questions about a PRD: what a planner (human or model) would ask before
//! splitting it. Heuristic by default; a model may add its own, with the heuristic as fallback.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision_log::DecisionLog;
use crate::model::{LanguageModel, ModelRequest};
use crate::prd::{Prd, SectionRole};

/// One question, with where it comes from and why it matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Short key of the gap: `success_criteria`, `non_goals`, `units`, `scope`, or `model`.
    pub topic: String,
    /// The question.
    pub question: String,
    /// Why it matters for planning.
    pub why: String,
}

const VAGUE: &[&str] = &[
    "fast",
    "quick",
    "easy",
    "simple",
    "user-friendly",
    "intuitive",
    "scalable",
    "robust",
    "secure",
    "modern",
    "etc",
    "tbd",
    "various",
    "some",
    "as needed",
    "and so on",
    "nice",
];

/// Questions found without a model.
pub fn heuristic_questions(prd: &Prd) -> Vec<Question> {
    let mut out = Vec::new();
    let has_role = |role| prd.sections.iter().any(|s| s.role == role);
    if !has_role(SectionRole::Goals) {
        out.push(Question {
            topic: "success_criteria".into(),
            question: "How will we know this is done? Which measurable success criteria should every task serve?".into(),
            why: "Without success criteria the acceptance criteria of each task are guesses.".into(),
        });
    }
    if !has_role(SectionRole::NonGoals) {
        out.push(Question {
            topic: "non_goals".into(),
            question: "What is explicitly out of scope for this release?".into(),
            why: "Agents fill gaps generously; non-goals keep them from building what nobody asked for.".into(),
        });
    }
    // The PRD's own open questions come first: the author already knows they are open.
    for q in prd.items_with_role(SectionRole::OpenQuestions) {
        out.push(Question {
            topic: "open_question".into(),
            question: q.trim().to_owned(),
            why: "The PRD leaves it open; tasks that depend on the answer would have to guess."
                .into(),
        });
    }
    // A requirement that touches what the PRD puts out of scope: which one wins?
    let non_goals = prd.items_with_role(SectionRole::NonGoals);
    for section in prd.work_sections() {
        for item in section.texts() {
            let mine = crate::text::domain_tokens(item);
            for n in &non_goals {
                let shared: Vec<String> = crate::text::domain_tokens(n)
                    .intersection(&mine)
                    .cloned()
                    .collect();
                if shared.len() >= 2 {
                    out.push(Question {
                        topic: "non_goals".into(),
                        question: format!(
                            "\"{}\" ({}) touches what the PRD puts out of scope (\"{}\"): how far should it go?",
                            short(item),
                            section.heading,
                            short(n)
                        ),
                        why: "Agents are told not to build non-goals; a requirement that needs part of one must say which part.".into(),
                    });
                }
            }
        }
    }
    for section in &prd.sections {
        for item in section.texts() {
            for number in bare_numbers(item) {
                out.push(Question {
                    topic: "units".into(),
                    question: format!(
                        "In \"{}\" ({}): {number} of what unit?",
                        short(item),
                        section.heading
                    ),
                    why: "A number without a unit cannot be verified by a test or a benchmark."
                        .into(),
                });
            }
            if section.role != SectionRole::Work {
                continue;
            }
            let lower = item.to_ascii_lowercase();
            let vague: Vec<&str> = VAGUE
                .iter()
                .copied()
                .filter(|w| crate::text::has_word(&lower, w).is_some())
                .collect();
            let has_number = item.chars().any(|c| c.is_ascii_digit());
            if (!vague.is_empty() && !has_number) || item.split_whitespace().count() < 3 {
                let what = if vague.is_empty() {
                    "is too short to plan".to_owned()
                } else {
                    format!("uses \"{}\" without a measure", vague.join("\", \""))
                };
                out.push(Question {
                    topic: "scope".into(),
                    question: format!(
                        "\"{}\" ({}) {what}: what exactly is in scope, and how is it checked?",
                        short(item),
                        section.heading
                    ),
                    why:
                        "Unclear scope becomes an unclear task that fails verification or sprawls."
                            .into(),
                });
            }
        }
    }
    out
}

/// Numbers that stand alone: not followed by a unit, `%`, `x`, a time or a known noun.
fn bare_numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let clean = text.replace('`', "");
    let words: Vec<&str> = clean.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let core = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.');
        let core = core.trim_end_matches('.');
        if core.is_empty()
            || !core.chars().all(|c| c.is_ascii_digit() || c == '.')
            || core.contains(':')
        {
            continue;
        }
        // Attached suffixes (`10x`, `80%`, `200ms`) and times (`10:00`) carry a unit.
        if w.contains(['%', ':', '/', '$', '€'])
            || w.trim_end_matches([',', '.', ';', ')'])
                .ends_with(|c: char| c.is_ascii_alphabetic())
        {
            continue;
        }
        let before = if i > 0 {
            words[i - 1].to_ascii_lowercase()
        } else {
            String::new()
        };
        let after = words
            .get(i + 1)
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        // Ranges like `[0, 1]` and "Phase 2" / "version 3" are not quantities.
        if w.starts_with('[')
            || w.ends_with(']')
            || ["phase", "layer", "version", "step", "v", "tier", "level"]
                .contains(&before.trim_matches(|c: char| !c.is_ascii_alphabetic()))
        {
            continue;
        }
        let after = after.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if after.is_empty()
            || ["and", "or", "to", "per", "of", "for", "in", "at", "with"].contains(&after)
        {
            out.push(core.to_owned());
        }
    }
    out
}

fn short(text: &str) -> String {
    let t = text.replace('`', "");
    if t.chars().count() > 70 {
        format!("{}…", t.chars().take(68).collect::<String>())
    } else {
        t
    }
}

/// Questions from `model` when given, merged after the heuristic ones; a model failure
/// leaves the heuristic questions alone.
pub async fn prd_questions(
    prd: &Prd,
    model: Option<&dyn LanguageModel>,
    log: Option<&DecisionLog>,
) -> Vec<Question> {
    let mut questions = heuristic_questions(prd);
    let Some(model) = model else {
        return questions;
    };
    let request = ModelRequest {
        system: "You review product requirement documents before they are split into tasks for coding agents. \
Answer with JSON only: {\"questions\": [{\"question\": \"…\", \"why\": \"…\"}]}, at most 8 questions, only real gaps."
            .into(),
        prompt: prd.text.clone(),
        max_tokens: 2_000,
    };
    match model.complete(&request).await {
        Ok(reply) => {
            let parsed: Option<Vec<Question>> = serde_json::from_str::<Value>(reply.text.trim())
                .ok()
                .and_then(|v| v.get("questions").cloned())
                .and_then(|q| q.as_array().cloned())
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|q| {
                            let question = q.get("question")?.as_str()?.trim().to_owned();
                            let why = q
                                .get("why")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .trim()
                                .to_owned();
                            (!question.is_empty()).then_some(Question {
                                topic: "model".into(),
                                question,
                                why,
                            })
                        })
                        .take(8)
                        .collect()
                });
            if let Some(log) = log {
                let outcome = if parsed.is_some() {
                    "accepted"
                } else {
                    "rejected: not the questions JSON"
                };
                let _ = log.record(
                    "questions",
                    &model.describe(),
                    &request.prompt,
                    &reply.text,
                    outcome,
                );
            }
            questions.extend(parsed.unwrap_or_default());
        }
        Err(e) => {
            tracing::warn!("the model could not ask questions ({e}); heuristic questions only")
        }
    }
    questions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bare_numbers("Retry 3 and then stop"), vec!["3"]);
        assert!(
            bare_numbers("at 100 requests per second, 80% coverage, 10x faster, at 10:00")
                .is_empty()
        );
        assert!(bare_numbers("confidence in [0, 1]").is_empty());
        assert_eq!(bare_numbers("Cache up to 500"), vec!["500"]);
    }

    #[test]
    fn gaps() {
        let prd =
            Prd::parse("# X\n## Features\n- Make it fast\n- Keep up to 500 in memory\n").unwrap();
        let topics: Vec<String> = heuristic_questions(&prd)
            .into_iter()
            .map(|q| q.topic)
            .collect();
        assert_eq!(topics, ["success_criteria", "non_goals", "scope", "units"]);
    }

    #[test]
    fn open_questions_and_non_goals_feed_the_questions() {
        let prd = Prd::parse(
            "# X
## Goals
- Fast checkout
## Non-goals
- Native mobile app for shoppers
## Features
- Push notifications to the mobile app of shoppers when an order ships
- Cart page
## Open questions
- Which payment provider?
## 未決事項
- 位置情報を記録するか
",
        )
        .unwrap();
        let questions = heuristic_questions(&prd);
        let open: Vec<&str> = questions
            .iter()
            .filter(|q| q.topic == "open_question")
            .map(|q| q.question.as_str())
            .collect();
        assert_eq!(open, ["Which payment provider?", "位置情報を記録するか"]);
        assert!(
            questions
                .iter()
                .any(|q| q.topic == "non_goals" && q.question.contains("Push notifications")),
            "{questions:?}"
        );
    }
}
