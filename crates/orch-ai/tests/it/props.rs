//! The markdown reader and PRD parser are total: no input makes them panic.

use orch_ai::{Prd, Strategy, parse_markdown, plan_heuristic};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn markdown_parser_never_panics(text in any::<String>()) {
        let _ = parse_markdown(&text);
        let _ = Prd::from_bytes(text.as_bytes());
    }

    #[test]
    fn markdownish_input_plans_or_refuses(lines in proptest::collection::vec(
        prop_oneof![
            "#{1,4} [A-Za-z0-9 :]{0,20}",
            "[-*+] [A-Za-z0-9 `/;:,.]{0,40}",
            "  [-*] [a-z ]{0,20}",
            "[0-9]{1,2}[.)] [a-z ]{0,20}",
            "```[a-z]{0,4}",
            "[A-Za-z ,.]{0,40}",
            Just(String::new()),
        ],
        0..40,
    )) {
        let text = lines.join("\n");
        if let Ok(prd) = Prd::parse(&text) {
            for strategy in [Strategy::Auto, Strategy::Layer, Strategy::Phase, Strategy::Function, Strategy::Generic] {
                let outcome = plan_heuristic(&prd, strategy);
                prop_assert!(outcome.plan.validate().is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Prd::from_bytes(&bytes);
    }
}
