//! The command line's conventions: completion scripts and a man page made from the
//! arguments, tshark's `-r FILE`, bad values refused with what was expected, and
//! `--help` naming nothing outside the project.

use std::process::{Command, Output};

use crate::common::sample_path;

fn bootscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bootscope"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The subcommands, as `bootscope --help` lists them.
fn subcommands() -> Vec<String> {
    let help = stdout(&bootscope(&["--help"]));
    let (_, list) = help.split_once("Commands:").expect("a Commands: section");
    let names: Vec<String> = list
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    for want in [
        "analyze",
        "dissect",
        "simulate",
        "rules",
        "completions",
        "man",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    names
}

#[test]
fn completion_scripts_name_every_subcommand() {
    let subs = subcommands();
    let bash = bootscope(&["completions", "bash"]);
    assert!(bash.status.success(), "{}", stderr(&bash));
    let script = stdout(&bash);
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for s in &subs {
        assert!(script.contains(s.as_str()), "bash completion lacks {s}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = bootscope(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("analyze"), "{shell}");
    }
    assert!(!bootscope(&["completions", "tcsh"]).status.success());
}

#[test]
fn the_man_page_names_every_subcommand() {
    let out = bootscope(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") || page.contains(".TH bootscope"),
        "not roff"
    );
    for s in subcommands() {
        assert!(page.contains(&s), "the man page lacks {s}");
    }
    let dir = std::env::temp_dir().join(format!("bootscope-man-{}", std::process::id()));
    let out = bootscope(&["man", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for page in ["bootscope.1", "bootscope-analyze.1", "bootscope-dissect.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_capture_is_read_with_r_as_with_tshark_or_positionally() {
    let sample = sample_path("mixed-site");
    let sample = sample.to_str().unwrap();
    for cmd in [
        ["analyze", "--format", "json"],
        ["dissect", "--format", "json"],
        ["inventory", "--format", "csv"],
    ] {
        let positional = bootscope(&[cmd[0], cmd[1], cmd[2], sample]);
        let with_r = bootscope(&[cmd[0], cmd[1], cmd[2], "-r", sample]);
        assert!(!positional.stdout.is_empty(), "{}", stderr(&positional));
        assert_eq!(positional.status.code(), with_r.status.code(), "{cmd:?}");
        assert_eq!(stdout(&positional), stdout(&with_r), "{cmd:?}");
    }
    // Neither: refused, naming what is missing.
    let none = bootscope(&["dissect"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("required"), "{}", stderr(&none));
}

#[test]
fn bad_values_say_what_was_expected() {
    let sample = sample_path("mixed-site");
    let sample = sample.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["analyze", sample, "--threads", "two"],
            "expected a whole number",
        ),
        (
            vec!["analyze", sample, "--max-memory", "1.5"],
            "expected a whole number",
        ),
        (
            vec!["analyze", sample, "--format", "xml"],
            "possible values: table, json",
        ),
        (
            vec!["analyze", sample, "--phone", "SEP12"],
            "expected a MAC",
        ),
        (
            vec!["analyze", "no/such.pcap"],
            "expected a pcap or pcapng file",
        ),
        (
            vec!["analyze", sample, "--rules", "no/such/dir"],
            "expected a directory of rule files",
        ),
        (
            vec!["dissect", "-r", "no/such.pcap"],
            "expected a pcap or pcapng file",
        ),
        (
            vec!["simulate", "--fleet", "ten", "-o", "x.pcap"],
            "expected a whole number",
        ),
        (
            vec![
                "simulate",
                "--fleet",
                "2",
                "-o",
                "x.pcap",
                "--flood-start=-5",
            ],
            "expected a number of seconds",
        ),
        (
            vec!["replay", "-i", "lo", sample, "--speed", "fast"],
            "expected a number, 0 or more",
        ),
        (
            vec!["live", "-i", "lo", "--duration", "0"],
            "expected a positive number of seconds",
        ),
        (vec!["completions", "tcsh"], "possible values: bash"),
        (
            vec!["analyze", sample, "--html", "no/such/dir/r.html"],
            "expected a file to write in an existing directory",
        ),
        (
            vec!["simulate", "no/such/scenario.json", "-o", "x.pcap"],
            "expected a scenario file",
        ),
    ] {
        let out = bootscope(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A phone not in the capture: said after the analysis, with what was expected.
    let out = bootscope(&["analyze", sample, "--phone", "SEP0000000000AB"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected the MAC or device name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_help_names_anything_outside_the_project() {
    let mut pages = vec![vec!["--help".to_owned()]];
    for s in subcommands() {
        pages.push(vec![s.clone(), "--help".to_owned()]);
    }
    for args in pages {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = bootscope(&args);
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        assert!(text.len() > 100, "{args:?}");
        // Every path it names is a file of the project that exists, or one of the few
        // places an install or a scrape uses; nothing else with a slash.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let elsewhere = [
            "/metrics",
            "/usr/local/share/man/man1",
            "/etc/bash_completion.d/bootscope",
            "/",
        ];
        let words = text.split(|c: char| c.is_whitespace() || "()`'\",;:[]".contains(c));
        for word in words.map(|w| w.trim_end_matches('.')) {
            if !word.contains('/') || word.contains("and/or") || word == "7940/7960" {
                continue;
            }
            let in_project = ["docs/", "rules/", "schemas/", "samples/", "deploy/"]
                .iter()
                .any(|dir| word.starts_with(dir));
            if in_project {
                // A glob (`samples/*/scenario.json`): its fixed head.
                let path = word.split('*').next().unwrap_or(word);
                assert!(
                    root.join(path).exists(),
                    "{args:?} names {word}, not in the project"
                );
            } else {
                assert!(elsewhere.contains(&word), "{args:?} names {word}:\n{text}");
            }
        }
    }
}
