//! The README's curl walkthrough, run as written.

use super::*;

/// The README's curl walkthrough: the `sh` block that starts by registering at
/// `localhost:8080/users`.
fn readme_walkthrough_block() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("read README.md");
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block))
        .find(|block| {
            block
                .trim_start()
                .starts_with("curl -s localhost:8080/users")
        })
        .expect("README.md has a ```sh block starting with the curl that registers a user")
        .to_owned()
}

/// The status each `curl` of a walkthrough must answer, in order: the code of a
/// trailing `# NNN` comment, or `None` (any 2xx) for a command without one.
fn walkthrough_statuses(script: &str) -> Vec<Option<u16>> {
    let mut commands = Vec::new();
    let mut command = String::new();
    for line in script.lines() {
        command.push_str(line);
        command.push('\n');
        if !line.trim_end().ends_with('\\') {
            commands.push(std::mem::take(&mut command));
        }
    }
    let mut statuses = Vec::new();
    for command in commands {
        let annotated = command.rfind("# ").and_then(|at| {
            let code = command[at + 2..].get(..3)?;
            code.parse::<u16>().ok()
        });
        let curls = command.matches("curl ").count();
        assert!(
            curls <= 1 || annotated.is_none(),
            "one status comment for {curls} curls: {command}"
        );
        statuses.extend(std::iter::repeat_n(annotated, curls));
    }
    statuses
}

#[test]
fn walkthrough_statuses_are_read_from_the_comments() {
    let script = "curl -s x/users -d '{}'\n\
                  A=$(curl -s x/token \\\n  -d '{}')\n\
                  curl -s x/me -H \"a: $A\"   # 200 {id}\n\
                  curl -s x/t \\\n  -d \"{}\"     # 401 revoked\n";
    assert_eq!(
        walkthrough_statuses(script),
        [None, None, Some(200), Some(401)]
    );
}

/// README.md's curl walkthrough works exactly as written: run by bash with the real curl
/// against each demo in its default configuration (embedded SQLite created in a fresh
/// directory, random secret), only the address changed from `localhost:8080` to the
/// server's ephemeral port. Every curl answers the status its comment gives (2xx where it
/// gives none), and the output shows the registered user and the refreshed pair.
#[test]
fn readme_walkthrough() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "skipped: readme_walkthrough runs the README's commands with curl, which is not installed"
        );
        return;
    }
    let script = readme_walkthrough_block();
    let expected = walkthrough_statuses(&script);
    assert!(
        expected.len() >= 7,
        "the walkthrough has its curls: {expected:?} {script}"
    );
    for kind in Kind::ALL {
        let dir = TempDir::new("readme");
        let server = Server::start(kind, &[], dir.path());
        let statuses = dir.path().join("statuses");
        // each curl also writes its status, to standard error, which goes to `statuses`;
        // a bound on every transfer, so a hung server fails the test instead of hanging it
        let prelude = format!(
            "curl() {{ command curl --max-time 20 -w '%{{stderr}}%{{http_code}}\\n' \"$@\" 2>>'{}'; }}\n",
            statuses.display()
        );
        let body = script.replace("localhost:8080", &server.addr.to_string());
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{prelude}{body}"))
            .current_dir(dir.path())
            .output()
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{kind}: the walkthrough failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let got: Vec<u16> = std::fs::read_to_string(&statuses)
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().parse().expect("a status code"))
            .collect();
        assert_eq!(
            got.len(),
            expected.len(),
            "{kind}: one status per curl: {got:?}; output: {stdout}"
        );
        for (i, (got, want)) in got.iter().zip(&expected).enumerate() {
            match want {
                Some(want) => assert_eq!(
                    got,
                    want,
                    "{kind}: curl #{} of the walkthrough: {stdout}",
                    i + 1
                ),
                None => assert!(
                    (200..300).contains(got),
                    "{kind}: curl #{} of the walkthrough answered {got}: {stdout}",
                    i + 1
                ),
            }
        }
        for shown in [
            "\"email\":\"ada@example.com\"",
            "insufficient_scope",
            "refresh_token",
        ] {
            assert!(
                stdout.contains(shown),
                "{kind}: the walkthrough shows no {shown}: {stdout}"
            );
        }
        server.stop();
    }
}
