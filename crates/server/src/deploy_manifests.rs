//! deploy/ speaks the binary's language (issue 7): every command line and
//! every GONGKAI_* variable that the Kubernetes manifests (base and example
//! overlay) and the Dockerfile give `gongkai` is accepted by its own clap
//! parser, values included. Each variable is turned into the flag that
//! declares it as its `env` and parsed with [`Cli::try_parse_from`]; a name
//! no flag of that subcommand declares is an error.
//!
//! A unit test of the binary, not a file in tests/: `Cli` lives in
//! `main.rs`, which integration tests cannot reach.

use std::{collections::BTreeMap, path::PathBuf};

use clap::{ArgAction, CommandFactory, Parser};
use serde_norway::Value;

use super::Cli;

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn yaml_docs(relative: &str) -> Vec<Value> {
    let path = deploy().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|x| x.as_str().expect("a string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `gongkai` + `args` + one `--flag=value` per variable, or why not.
fn argv(args: &[String], env: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let command = Cli::command();
    let name = args.first().ok_or("no subcommand")?;
    let sub = command
        .find_subcommand(name)
        .ok_or_else(|| format!("no subcommand {name}"))?;
    let mut out = vec!["gongkai".to_owned()];
    out.extend(args.iter().cloned());
    for (var, value) in env {
        let arg = sub
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == var.as_str()))
            .ok_or_else(|| format!("gongkai {name} has no flag read from {var}"))?;
        let long = arg
            .get_long()
            .ok_or_else(|| format!("{var}: its flag has no long name"))?;
        match arg.get_action() {
            ArgAction::SetTrue => match value.as_str() {
                "true" => out.push(format!("--{long}")),
                "false" => {}
                v => return Err(format!("{var}={v}: a switch is true or false")),
            },
            _ => out.push(format!("--{long}={value}")),
        }
    }
    Ok(out)
}

/// Parses with the binary's own parser.
fn accepted(args: &[String], env: &BTreeMap<String, String>) -> Result<(), String> {
    let argv = argv(args, env)?;
    Cli::try_parse_from(&argv)
        .map(drop)
        .map_err(|e| format!("{argv:?}: {e}"))
}

/// The base ConfigMap's data.
fn config_map() -> BTreeMap<String, String> {
    let docs = yaml_docs("kubernetes/base/configmap.yaml");
    let data = docs[0]["data"].as_mapping().expect("ConfigMap data");
    data.iter().map(|(k, v)| (scalar(k), scalar(v))).collect()
}

/// The container that runs gongkai in a pod spec: (args, env from the
/// ConfigMap it names plus its own env entries).
fn container(
    pod_spec: &Value,
    config: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let c = &pod_spec["containers"][0];
    let mut env = BTreeMap::new();
    for from in c["envFrom"].as_sequence().into_iter().flatten() {
        assert_eq!(
            from["configMapRef"]["name"].as_str(),
            Some("gongkai-config"),
            "envFrom names the gongkai ConfigMap"
        );
        env.extend(config.clone());
    }
    for e in c["env"].as_sequence().into_iter().flatten() {
        let name = scalar(&e["name"]);
        if name.starts_with("GONGKAI_") {
            env.insert(name, scalar(&e["value"]));
        }
    }
    assert!(
        c["command"].is_null(),
        "the image's entrypoint (gongkai) runs"
    );
    (strings(&c["args"]), env)
}

/// Every (args, env) the base gives gongkai: the server and the backup job.
fn base_invocations(
    config: &BTreeMap<String, String>,
) -> Vec<(String, Vec<String>, BTreeMap<String, String>)> {
    let sts = &yaml_docs("kubernetes/base/statefulset.yaml")[0];
    let cron = &yaml_docs("kubernetes/base/backup-cronjob.yaml")[0];
    let (a, e) = container(&sts["spec"]["template"]["spec"], config);
    let (b, f) = container(
        &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        config,
    );
    vec![
        ("statefulset".to_owned(), a, e),
        ("backup cronjob".to_owned(), b, f),
    ]
}

#[test]
fn base_manifests_args_and_env_are_accepted() {
    let config = config_map();
    assert!(
        config.keys().all(|k| k.starts_with("GONGKAI_")),
        "{config:?}"
    );
    let runs = base_invocations(&config);
    assert_eq!(runs[0].1, ["serve"]);
    assert_eq!(
        runs[0].2.len(),
        config.len(),
        "the server reads the whole ConfigMap"
    );
    assert_eq!(runs[1].1.first().map(String::as_str), Some("backup"));
    for (what, args, env) in &runs {
        accepted(args, env).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn overlay_config_patches_are_accepted() {
    let mut config = config_map();
    let kustomization = &yaml_docs("kubernetes/overlays/example/kustomization.yaml")[0];
    let mut patched = 0;
    for p in kustomization["patches"].as_sequence().expect("patches") {
        if p["target"]["kind"].as_str() != Some("ConfigMap") {
            continue;
        }
        let ops: Value = serde_norway::from_str(p["patch"].as_str().expect("inline patch"))
            .expect("a JSON patch in YAML");
        for op in ops.as_sequence().expect("operations") {
            let path = op["path"].as_str().expect("path");
            let key = path.strip_prefix("/data/").expect("a ConfigMap data key");
            config.insert(key.to_owned(), scalar(&op["value"]));
            patched += 1;
        }
    }
    assert!(patched > 0, "the example overlay patches the configuration");
    for (what, args, env) in base_invocations(&config) {
        accepted(&args, &env).unwrap_or_else(|e| panic!("overlay {what}: {e}"));
    }
}

#[test]
fn dockerfile_env_and_cmd_are_accepted() {
    let path = deploy().join("Dockerfile");
    let text = std::fs::read_to_string(&path).expect("Dockerfile");
    // The runtime stage: after the last FROM. ENV lines continue with '\'.
    let runtime = text.rsplit("\nFROM ").next().expect("a runtime stage");
    let joined = runtime.replace("\\\n", " ");
    let mut env = BTreeMap::new();
    for line in joined.lines().filter_map(|l| l.trim().strip_prefix("ENV ")) {
        for pair in line.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("ENV KEY=VALUE");
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    assert!(env.contains_key("GONGKAI_DATA"), "{env:?}");
    let cmd = joined
        .lines()
        .find_map(|l| l.trim().strip_prefix("CMD "))
        .expect("a CMD");
    let args: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec form");
    assert!(
        joined.contains(r#"ENTRYPOINT ["gongkai"]"#),
        "gongkai is the entrypoint"
    );
    accepted(&args, &env).unwrap_or_else(|e| panic!("Dockerfile: {e}"));
}

#[test]
fn names_and_values_the_binary_does_not_take_are_refused() {
    let mut env = config_map();
    env.insert("GONGKAI_NOT_A_FLAG".into(), "1".into());
    let err = accepted(&["serve".into()], &env).expect_err("unknown name");
    assert!(err.contains("GONGKAI_NOT_A_FLAG"), "{err}");

    let mut env = config_map();
    env.insert("GONGKAI_CACHE_MB".into(), "lots".into());
    let err = accepted(&["serve".into()], &env).expect_err("bad value");
    assert!(err.contains("lots"), "{err}");

    let err = accepted(&["backup".into(), "--sever".into()], &BTreeMap::new())
        .expect_err("misspelt flag");
    assert!(err.contains("--sever"), "{err}");
}
