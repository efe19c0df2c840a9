//! `pfe lint --json` on every config of tests/corpus/, in its MANIFEST
//! environment, against the checked-in expectation
//! tests/corpus/findings.tsv: every finding pfe gives (config, code,
//! section, subject), each judged real or false against Prosody's and
//! prosody-modules' sources. The findings must equal the list exactly (a
//! new false finding fails, and so does a lost real one), pfe must not
//! crash, every config Prosody loads (expected/ID.json) must load in pfe,
//! and precision = real / all must be at least 95 %. The misses of
//! tests/corpus/missed.tsv that pfe now catches are listed in
//! tests/corpus/caught.tsv: each must be a real finding of findings.tsv and
//! be reported by pfe.

use pfe_testkit::{command, repo_root};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::Path;

/// The target of issue 10.
const MIN_PRECISION: f64 = 0.95;

/// One finding as the expectation names it.
type Row = (String, String, String, String);

/// MANIFEST.tsv: id → environment pairs.
fn manifest() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(repo_root().join("tests/corpus/MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = header.iter().position(|h| *h == "env").expect("env column");
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r: Vec<&str> = l.split('\t').collect();
            let env = r[col]
                .split(';')
                .filter(|kv| *kv != "-")
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .collect();
            (r[0].to_string(), env)
        })
        .collect()
}

/// `pfe lint --json` on configs/ID.cfg.lua: (exit status, JSON).
fn lint(dir: &Path, id: &str, env: &[(String, String)]) -> (Option<i32>, Result<J, String>) {
    let out = command()
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .args(["lint", "--json"])
        .arg(dir.join(format!("{id}.cfg.lua")))
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

fn rows_of(id: &str, json: &J) -> Vec<Row> {
    let field = |f: &J, k: &str| f.get(k).and_then(J::as_str).unwrap_or("-").to_string();
    let mut v: Vec<Row> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                id.to_string(),
                field(f, "code"),
                field(f, "host"),
                field(f, "subject"),
            )
        })
        .collect();
    v.sort();
    v
}

/// findings.tsv: the expected rows with their verdicts.
fn expected() -> Vec<(Row, bool, String)> {
    let path = repo_root().join("tests/corpus/findings.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id\tcode\tsection\tsubject\tverdict\treason"),
        "{}: header",
        path.display()
    );
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let r: Vec<&str> = l.split('\t').collect();
            assert_eq!(r.len(), 6, "findings.tsv:{}: six columns", i + 2);
            let real = match r[4] {
                "real" => true,
                "false" => false,
                v => panic!("findings.tsv:{}: verdict {v:?} (real or false)", i + 2),
            };
            assert!(
                r[5].len() > 20,
                "findings.tsv:{}: a verdict needs a reason citing a source",
                i + 2
            );
            let row = (r[0].into(), r[1].into(), r[2].into(), r[3].into());
            (row, real, r[5].to_string())
        })
        .collect()
}

fn multiset(rows: impl IntoIterator<Item = Row>) -> BTreeMap<Row, usize> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r).or_insert(0) += 1;
    }
    m
}

fn tsv(r: &Row) -> String {
    format!("{}\t{}\t{}\t{}", r.0, r.1, r.2, r.3)
}

#[test]
fn corpus_findings_are_the_judged_ones() {
    let dir = repo_root().join("tests/corpus/configs");
    let mut actual = Vec::new();
    let mut problems = Vec::new();
    let mut loads = 0;
    let cases = manifest();
    assert!(
        cases.len() >= 38,
        "MANIFEST.tsv lists {} configs",
        cases.len()
    );
    for (id, env) in &cases {
        let (status, json) = lint(&dir, id, env);
        let json = match (status, json) {
            (Some(0 | 1), Ok(j)) => j,
            (s, j) => {
                problems.push(format!("{id}: pfe crashed (exit {s:?}): {:?}", j.err()));
                continue;
            }
        };
        let expected_eval: J = serde_json::from_str(
            &std::fs::read_to_string(repo_root().join(format!("tests/corpus/expected/{id}.json")))
                .unwrap(),
        )
        .unwrap();
        if expected_eval["loads"] == J::Bool(true) {
            loads += 1;
            if json["evaluated"] != J::Bool(true) {
                problems.push(format!(
                    "{id}: Prosody loads it, pfe does not: {}",
                    json["findings"]
                ));
            }
        }
        actual.extend(rows_of(id, &json));
    }
    let expected = expected();
    let want = multiset(expected.iter().map(|(r, _, _)| r.clone()));
    let got = multiset(actual.iter().cloned());
    for (r, n) in &got {
        for _ in want.get(r).copied().unwrap_or(0)..*n {
            problems.push(format!("new finding, not in findings.tsv: {}", tsv(r)));
        }
    }
    for (r, n) in &want {
        for _ in got.get(r).copied().unwrap_or(0)..*n {
            problems.push(format!("finding lost (findings.tsv has it): {}", tsv(r)));
        }
    }
    let real = expected.iter().filter(|(_, real, _)| *real).count();
    let precision = real as f64 / expected.len().max(1) as f64;
    eprintln!(
        "corpus: {} configs, {loads} loaded by Prosody, {} findings, {real} real: precision {:.1} %",
        cases.len(),
        expected.len(),
        precision * 100.0
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        precision >= MIN_PRECISION,
        "precision {:.1} % < {:.0} %",
        precision * 100.0,
        MIN_PRECISION * 100.0
    );
}

/// caught.tsv: the misses of missed.tsv (id, subject) and the finding that
/// now reports each (code, section, subject of findings.tsv), judged real.
#[test]
fn the_old_misses_are_caught() {
    let text = std::fs::read_to_string(repo_root().join("tests/corpus/caught.tsv")).unwrap();
    let missed = std::fs::read_to_string(repo_root().join("tests/corpus/missed.tsv")).unwrap();
    let missed: Vec<(String, String)> = missed
        .lines()
        .skip(1)
        .map(|l| {
            let r: Vec<&str> = l.split('\t').collect();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    let real: Vec<Row> = expected()
        .into_iter()
        .filter(|(_, real, _)| *real)
        .map(|(r, _, _)| r)
        .collect();
    let env: BTreeMap<String, Vec<(String, String)>> = manifest().into_iter().collect();
    let dir = repo_root().join("tests/corpus/configs");
    let mut found: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id\tmissed_subject\tcode\tsection\tsubject"),
        "caught.tsv header"
    );
    let mut n = 0;
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let r: Vec<&str> = l.split('\t').collect();
        assert_eq!(r.len(), 5, "caught.tsv: {l}");
        assert!(
            missed.contains(&(r[0].to_string(), r[1].to_string())),
            "caught.tsv: {} {} is not in missed.tsv",
            r[0],
            r[1]
        );
        let row = (r[0].into(), r[2].into(), r[3].into(), r[4].into());
        assert!(
            real.contains(&row),
            "caught.tsv: {} is not a real finding in findings.tsv",
            tsv(&row)
        );
        let rows = found.entry(r[0].to_string()).or_insert_with(|| {
            let (_, json) = lint(&dir, r[0], &env[r[0]]);
            rows_of(r[0], &json.unwrap())
        });
        assert!(
            rows.contains(&row),
            "{}: pfe no longer reports {} ({})",
            r[0],
            tsv(&row),
            r[1]
        );
        n += 1;
    }
    assert!(n > 0, "caught.tsv lists nothing");
}
