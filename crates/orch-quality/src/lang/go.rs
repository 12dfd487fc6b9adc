//! Go: gofmt (syntax), go build (types), staticcheck or go vet (lint), go test -cover
//! (tests). Everything is skipped, with the reason, where Go is not installed.

use crate::check::in_scope_findings;
use crate::check::{CheckContext, Part, code_text, label, last_lines};
use crate::command::{CommandLine, on_path};
use crate::lang::rust::{lint_verdict, test_verdict, with};
use crate::parse;
use crate::project::Toolchain;
use crate::report::Severity;

fn go(ctx: &CheckContext, t: &Toolchain, program: &str, args: &[&str]) -> CommandLine {
    CommandLine::new(&ctx.project.dir_of(t), program, args)
}

fn rel(t: &Toolchain, f: String) -> String {
    let f = f.trim_start_matches("./").to_owned();
    if t.dir.is_empty() {
        f
    } else {
        format!("{}/{f}", t.dir)
    }
}

async fn diagnostics(
    ctx: &CheckContext,
    t: &Toolchain,
    mut part: Part,
    cmd: CommandLine,
    severity: Severity,
) -> Part {
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let mut findings = parse::colon_diagnostics(&out.combined(), severity);
    for f in &mut findings {
        f.file = f.file.take().map(|file| rel(t, file));
    }
    if !out.success() && findings.is_empty() {
        return part.error(format!(
            "`{}` exited with {}: {}",
            cmd.display(),
            code_text(out.code),
            last_lines(&out.combined(), 3)
        ));
    }
    part.zero_errors(findings)
}

pub(crate) async fn syntax(ctx: &CheckContext, t: &Toolchain) -> Part {
    let part = Part::new(label(t));
    if !on_path("gofmt") {
        return part.skip("Go is not installed (gofmt not found)");
    }
    diagnostics(
        ctx,
        t,
        part,
        go(ctx, t, "gofmt", &["-l", "-e", "."]),
        Severity::Error,
    )
    .await
}

pub(crate) async fn types(ctx: &CheckContext, t: &Toolchain) -> Part {
    let part = Part::new(label(t));
    if !on_path("go") {
        return part.skip("Go is not installed");
    }
    diagnostics(
        ctx,
        t,
        part,
        go(ctx, t, "go", &["build", "./..."]),
        Severity::Error,
    )
    .await
}

pub(crate) async fn lint(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    let cmd = if on_path("staticcheck") {
        go(ctx, t, "staticcheck", &["./..."])
    } else if on_path("go") {
        go(ctx, t, "go", &["vet", "./..."])
    } else {
        return part.skip("Go is not installed");
    };
    let out = match part.exec(ctx, &cmd).await {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let findings = parse::colon_diagnostics(&out.combined(), Severity::Warning);
    part.findings = in_scope_findings(ctx, findings, |file| rel(t, file.to_owned()));
    lint_verdict(ctx, part)
}

pub(crate) async fn tests(ctx: &CheckContext, t: &Toolchain) -> Part {
    let mut part = Part::new(label(t));
    if !on_path("go") {
        return part.skip("Go is not installed");
    }
    if !ctx.project.files_of(t, &["_test.go"]).iter().any(|_| true) {
        return part.skip("the project has no tests (*_test.go)");
    }
    let out = match part
        .exec(ctx, &go(ctx, t, "go", &["test", "-v", "-cover", "./..."]))
        .await
    {
        Ok(out) => out,
        Err(o) => return with(part, o),
    };
    let (counts, coverage) = parse::go_test_counts(&out.combined());
    test_verdict(ctx, part, counts, coverage)
}
