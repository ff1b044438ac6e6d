//! deploy/ speaks the binary's language (issue 7): every command line and
//! every GONGKAI_* variable that the Kubernetes manifests (base, example
//! overlay, PostgreSQL overlay) and the Dockerfile give `gongkai` is
//! accepted by its own clap parser, values included. Each variable is turned
//! into the flag that declares it as its `env` and parsed with
//! [`Cli::try_parse_from`]; a name no flag of that subcommand declares is an
//! error. The PostgreSQL overlay (issue 14) also keeps the base's pod
//! hardening and probes, and the CloudNativePG example keeps what
//! deploy/README.md says of it.
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

/// A value for a variable the manifests take from a Secret: they name the
/// Secret and its key, never the value, so the test supplies one of the
/// form deploy/README.md tells operators to put there.
fn secret_value(reference: &Value) -> String {
    let name = reference["name"].as_str().expect("secretKeyRef name");
    let key = reference["key"].as_str().expect("secretKeyRef key");
    match (name, key) {
        ("gongkai-database", "url") => {
            "postgres://gongkai:pw@gongkai-db-rw:5432/gongkai?sslmode=verify-full".into()
        }
        ("gongkai-database", "migrate-url") => {
            "postgres://gongkai_owner:pw@gongkai-db-rw:5432/gongkai?sslmode=verify-full".into()
        }
        other => panic!("a Secret this test does not know: {other:?}"),
    }
}

/// A container that runs gongkai: (args, env from the ConfigMap it names
/// plus its own env entries, values from Secrets supplied).
fn container(
    c: &Value,
    config: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeMap<String, String>) {
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
            let value = match &e["valueFrom"]["secretKeyRef"] {
                Value::Null => scalar(&e["value"]),
                reference => secret_value(reference),
            };
            env.insert(name, value);
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
    let (a, e) = container(&sts["spec"]["template"]["spec"]["containers"][0], config);
    let (b, f) = container(
        &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0],
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

/// The base ConfigMap's data with an overlay's JSON patches of it applied
/// (add, replace, remove), and how many operations there were.
fn patched_config_map(kustomization: &Value) -> (BTreeMap<String, String>, usize) {
    let mut config = config_map();
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
            match op["op"].as_str() {
                Some("add" | "replace") => {
                    config.insert(key.to_owned(), scalar(&op["value"]));
                }
                Some("remove") => {
                    assert!(
                        config.remove(key).is_some(),
                        "removes {key}, not in the base"
                    );
                }
                other => panic!("{other:?}: not an operation this test reads"),
            }
            patched += 1;
        }
    }
    (config, patched)
}

#[test]
fn overlay_config_patches_are_accepted() {
    let kustomization = &yaml_docs("kubernetes/overlays/example/kustomization.yaml")[0];
    let (config, patched) = patched_config_map(kustomization);
    assert!(patched > 0, "the example overlay patches the configuration");
    for (what, args, env) in base_invocations(&config) {
        accepted(&args, &env).unwrap_or_else(|e| panic!("overlay {what}: {e}"));
    }
}

const PG: &str = "kubernetes/overlays/postgres";

/// The PostgreSQL overlay's kustomization and its Deployment, after
/// checking that the kustomization builds on the base and lists the
/// Deployment this test reads.
fn pg_overlay() -> (Value, Value) {
    let kustomization = yaml_docs(&format!("{PG}/kustomization.yaml")).remove(0);
    let resources = strings(&kustomization["resources"]);
    for r in ["../../base", "deployment.yaml", "poddisruptionbudget.yaml"] {
        assert!(resources.iter().any(|x| x == r), "{r} in {resources:?}");
    }
    let deployment = yaml_docs(&format!("{PG}/deployment.yaml")).remove(0);
    assert_eq!(deployment["kind"].as_str(), Some("Deployment"));
    (kustomization, deployment)
}

/// The kinds and names the overlay deletes from the base (`$patch: delete`).
fn deleted(kustomization: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in kustomization["patches"].as_sequence().expect("patches") {
        let Some(text) = p["patch"].as_str() else {
            continue;
        };
        let doc: Value = serde_norway::from_str(text).expect("a patch in YAML");
        if doc.get("$patch").and_then(Value::as_str) == Some("delete") {
            out.push((scalar(&doc["kind"]), scalar(&doc["metadata"]["name"])));
        }
    }
    out
}

#[test]
fn postgres_overlay_args_and_env_are_accepted() {
    let (kustomization, deployment) = pg_overlay();
    let (config, _) = patched_config_map(&kustomization);
    for sled_only in ["GONGKAI_DATA", "GONGKAI_CACHE_MB", "GONGKAI_BACKUP_DIR"] {
        assert!(!config.contains_key(sled_only), "{sled_only} left in");
    }
    let pod = &deployment["spec"]["template"]["spec"];

    let (args, env) = container(&pod["containers"][0], &config);
    assert_eq!(args, ["serve"]);
    assert_eq!(
        env.len(),
        config.len() + 2,
        "the server reads the ConfigMap, the database URL and its CA: {env:?}"
    );
    assert!(env.contains_key("GONGKAI_DATABASE_URL"), "{env:?}");
    assert!(env.contains_key("GONGKAI_DATABASE_CA"), "{env:?}");
    // Migrations are the init container's, as deployment.yaml says why.
    assert!(!env.contains_key("GONGKAI_MIGRATE"), "{env:?}");
    accepted(&args, &env).unwrap_or_else(|e| panic!("postgres deployment: {e}"));

    let inits = pod["initContainers"].as_sequence().expect("initContainers");
    assert_eq!(inits.len(), 1);
    let (args, env) = container(&inits[0], &config);
    assert_eq!(args, ["migrate"]);
    assert_eq!(
        env.keys().collect::<Vec<_>>(),
        ["GONGKAI_DATABASE_CA", "GONGKAI_DATABASE_URL"]
    );
    accepted(&args, &env).unwrap_or_else(|e| panic!("postgres migrate: {e}"));

    // The CA file is where the read-only Secret volume puts it, and that
    // volume mounts only the certificate.
    let ca = PathBuf::from(&env["GONGKAI_DATABASE_CA"]);
    for c in [&pod["containers"][0], &inits[0]] {
        let mount = c["volumeMounts"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|m| ca.starts_with(scalar(&m["mountPath"])))
            .expect("a volume holds the database CA");
        assert_eq!(mount["readOnly"].as_bool(), Some(true), "{mount:?}");
        let volume = pod["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"])
            .expect("the CA's volume");
        let items = volume["secret"]["items"].as_sequence().expect("items");
        assert_eq!(items.len(), 1, "only ca.crt: {volume:?}");
        assert_eq!(
            ca.file_name().and_then(|n| n.to_str()),
            items[0]["path"].as_str()
        );
    }
}

#[test]
fn postgres_overlay_keeps_the_base_pod_and_runs_three_replicas_apart() {
    let (kustomization, deployment) = pg_overlay();
    let sts = &yaml_docs("kubernetes/base/statefulset.yaml")[0];
    let removed = deleted(&kustomization);
    for (kind, name) in [
        ("StatefulSet", "gongkai"),
        ("CronJob", "gongkai-backup"),
        ("Secret", "gongkai-backup-token"),
        ("NetworkPolicy", "gongkai-backup"),
    ] {
        assert!(
            removed.contains(&(kind.to_owned(), name.to_owned())),
            "{kind} {name} deleted: {removed:?}"
        );
    }

    let (base, ours) = (&sts["spec"], &deployment["spec"]);
    assert_eq!(ours["replicas"].as_u64(), Some(3));
    assert!(ours.get("volumeClaimTemplates").is_none());
    assert_eq!(base["selector"], ours["selector"]);
    assert_eq!(base["template"]["metadata"], ours["template"]["metadata"]);
    let (base, ours) = (&base["template"]["spec"], &ours["template"]["spec"]);
    for key in [
        "securityContext",
        "serviceAccountName",
        "automountServiceAccountToken",
        "terminationGracePeriodSeconds",
    ] {
        assert_eq!(base[key], ours[key], "pod {key}");
    }
    for v in ours["volumes"].as_sequence().expect("volumes") {
        assert!(
            v["secret"].is_mapping(),
            "only Secrets, no store volume: {v:?}"
        );
    }
    let server = &base["containers"][0];
    let containers = [&ours["containers"][0], &ours["initContainers"][0]];
    for c in containers {
        assert_eq!(
            server["securityContext"],
            c["securityContext"],
            "{}",
            scalar(&c["name"])
        );
        assert_eq!(server["image"], c["image"]);
        assert!(c["resources"]["limits"].is_mapping(), "limits");
    }
    let c = containers[0];
    for key in ["ports", "startupProbe", "readinessProbe", "resources"] {
        assert_eq!(server[key], c[key], "container {key}");
    }
    // Liveness: the base's period and bounds, but the port only (the health
    // service says NOT_SERVING while the database is down; a restart would
    // not help).
    let (b, l) = (&server["livenessProbe"], &c["livenessProbe"]);
    assert_eq!(l["tcpSocket"]["port"].as_str(), Some("grpc"), "{l:?}");
    for key in ["periodSeconds", "timeoutSeconds", "failureThreshold"] {
        assert_eq!(b[key], l[key], "liveness {key}");
    }

    // One replica per node: a hard spread over hostnames, of these pods.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let spread = ours["topologySpreadConstraints"]
        .as_sequence()
        .expect("topologySpreadConstraints");
    assert!(
        spread.iter().any(|t| {
            t["topologyKey"].as_str() == Some("kubernetes.io/hostname")
                && t["whenUnsatisfiable"].as_str() == Some("DoNotSchedule")
                && t["maxSkew"].as_u64() == Some(1)
                && &t["labelSelector"]["matchLabels"] == labels
        }),
        "{spread:?}"
    );

    let pdb = &yaml_docs(&format!("{PG}/poddisruptionbudget.yaml"))[0];
    assert_eq!(pdb["kind"].as_str(), Some("PodDisruptionBudget"));
    assert_eq!(pdb["spec"]["selector"], deployment["spec"]["selector"]);
    assert_eq!(pdb["spec"]["maxUnavailable"].as_u64(), Some(1));
}

#[test]
fn cloudnativepg_example_replicates_synchronously_over_tls_only() {
    let cluster = &yaml_docs("kubernetes/examples/cloudnativepg-cluster.yaml")[0];
    assert_eq!(
        cluster["apiVersion"].as_str(),
        Some("postgresql.cnpg.io/v1")
    );
    assert_eq!(cluster["kind"].as_str(), Some("Cluster"));
    let spec = &cluster["spec"];
    let instances = spec["instances"].as_u64().expect("instances");
    let sync = &spec["postgresql"]["synchronous"];
    let number = sync["number"].as_u64().expect("synchronous standbys");
    assert!(number >= 1 && number < instances, "{sync:?}");
    assert_eq!(sync["dataDurability"].as_str(), Some("required"));
    assert!(
        strings(&spec["postgresql"]["pg_hba"]).contains(&"hostnossl all all all reject".into())
    );
    assert_eq!(
        spec["affinity"]["podAntiAffinityType"].as_str(),
        Some("required")
    );
    // The URL the test gives the server names this cluster's primary
    // Service, database and roles.
    let name = cluster["metadata"]["name"].as_str().expect("name");
    let url =
        secret_value(&serde_norway::from_str("{name: gongkai-database, key: url}").expect("ref"));
    let owner = secret_value(
        &serde_norway::from_str("{name: gongkai-database, key: migrate-url}").expect("ref"),
    );
    let db = &spec["bootstrap"]["initdb"];
    assert!(owner.contains(&format!(
        "{}:pw@{name}-rw:5432/{}?",
        scalar(&db["owner"]),
        scalar(&db["database"])
    )));
    let server_role = scalar(&spec["managed"]["roles"][0]["name"]);
    assert!(url.contains(&format!("//{server_role}:pw@{name}-rw:5432/")));
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
